"""Benchmark peer for `npm run bench`: PyTorch/TorchOpt or JAX/JAXopt in one long-lived process.

    python peer.py torch|jax 1|default

Reads one JSON request per line on stdin and answers one JSON line on stdout, so that Node can
interleave its timing rounds with this process's (bench/python-peer.ts). Requests:

    {"op": "hello"}                                   -> versions, threads
    {"op": "setup", "name", "kind", "dtype", "tensors", "config"}
        builds workload `kind` on the given tensors (base64 little-endian float64 values plus a
        shape), runs it once (compiling it under jax.jit) and returns its outputs for the check
    {"op": "calibrate", "name", "warmup_ms", "min_repeat_ms"}  -> calls per repeat
    {"op": "sample", "name"}                          -> mean ms per call over one repeat

Every workload is written the way that library's users write it (TorchOpt's tutorial code,
jaxopt.implicit_diff.custom_root under jax.jit, ...); the Node side documents each one.
"""
import base64
import json
import os
import sys
import time

FRAMEWORK = sys.argv[1]
THREADS = sys.argv[2]

if FRAMEWORK == "jax":
    if THREADS == "1":
        # XLA's CPU client runs Eigen on a thread pool; these flags pin it to one thread.
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def decode(t, dtype):
    a = np.frombuffer(base64.b64decode(t["b64"]), dtype="<f8").reshape(t["shape"])
    return a.astype(dtype)


def flat(xs):
    """Outputs (a tensor or nested lists of them) as one list of floats."""
    out = []

    def rec(x):
        if isinstance(x, (list, tuple)):
            for y in x:
                rec(y)
        elif isinstance(x, dict):
            for k in sorted(x):
                rec(x[k])
        else:
            out.extend(np.asarray(x.detach() if hasattr(x, "detach") else x, dtype=np.float64).ravel().tolist())

    rec(xs)
    return out


# ---------------------------------------------------------------------------------------- torch
def torch_workloads():
    import torch
    import torch.nn.functional as F
    import torchopt

    if THREADS == "1":
        torch.set_num_threads(1)
    versions = {"torch": torch.__version__, "torchopt": torchopt.__version__}

    def mlp_loss(ps, x, y):
        return F.mse_loss(torch.tanh(x @ ps[0] + ps[1]) @ ps[2] + ps[3], y)

    def mlp_grad(t, cfg):
        ps = [t[k].requires_grad_() for k in ("W1", "b1", "W2", "b2")]

        def run():
            loss = mlp_loss(ps, t["x"], t["y"])
            return [loss.detach(), *torch.autograd.grad(loss, ps)]

        return run

    def mlp_hvp(t, cfg):
        ps = [t[k].requires_grad_() for k in ("W1", "b1", "W2", "b2")]
        vs = [t[k] for k in ("v1", "v2", "v3", "v4")]

        def run():
            # Reverse-over-reverse, as PyTorch users write it.
            gs = torch.autograd.grad(mlp_loss(ps, t["x"], t["y"]), ps, create_graph=True)
            dot = sum((g * v).sum() for g, v in zip(gs, vs))
            return torch.autograd.grad(dot, ps)

        return run

    def unrolled(t, cfg):
        K = cfg["steps"]

        def run():
            net = torch.nn.Linear(4, 1)
            with torch.no_grad():
                net.weight.copy_(t["W"])
                net.bias.copy_(t["b"])
            theta = list(net.parameters())
            opt = torchopt.MetaSGD(net, lr=cfg["lr"])
            for _ in range(K):
                opt.step(F.mse_loss(net(t["x"]), t["y"]))
            return torch.autograd.grad(F.mse_loss(net(t["x"]), t["y"]), theta)

        return run

    def implicit_solver(model, steps, lr, lam):
        """TorchOpt's implicit-differentiation tutorial inner solver, for any functional model."""

        def objective(params, meta, x, y):
            reg = 0
            for p1, p2 in zip(params, meta):
                reg = reg + 0.5 * torch.sum(torch.square(p1 - p2))
            return F.mse_loss(model(params, x), y) + lam * reg

        @torchopt.diff.implicit.custom_root(
            torch.func.grad(objective, argnums=0),
            argnums=1,
            solve=torchopt.linear_solve.solve_normal_cg(maxiter=5, atol=0),
        )
        def inner_solver(params, meta, x, y):
            optimizer = torchopt.sgd(lr=lr)
            state = optimizer.init(params)
            with torch.enable_grad():
                for _ in range(steps):
                    grads = torch.autograd.grad(objective(params, meta, x, y), params)
                    updates, state = optimizer.update(grads, state, inplace=True)
                    params = torchopt.apply_updates(params, updates, inplace=True)
            return params

        return inner_solver

    def implicit_meta(model, steps, lr, lam, names):
        """TorchOpt's implicit-differentiation tutorial code, for any functional model."""
        inner_solver = implicit_solver(model, steps, lr, lam)

        def build(t, cfg):
            meta = tuple(t[k].requires_grad_() for k in names)

            def run():
                init = tuple(p.detach().clone().requires_grad_() for p in meta)
                sol = inner_solver(init, meta, t["xs"], t["ys"])
                outer = cfg["outer"](model, sol, t)
                return torch.autograd.grad(outer, meta)

            return run

        return build

    def linear(ps, x):
        return F.linear(x, ps[0], ps[1])

    def mlp3(ps, x):
        h = torch.relu(F.linear(x, ps[0], ps[1]))
        h = torch.relu(F.linear(h, ps[2], ps[3]))
        return F.linear(h, ps[4], ps[5])

    tutorial_outer = lambda model, sol, t: model(sol, t["xs"]).mean()  # noqa: E731
    imaml_outer = lambda model, sol, t: F.mse_loss(model(sol, t["xq"]), t["yq"])  # noqa: E731

    def tutorial(t, cfg):
        return implicit_meta(linear, 100, 2e-2, 1.0, ("W", "b"))(t, {"outer": tutorial_outer})

    def imaml(t, cfg):
        return implicit_meta(mlp3, 10, 1e-2, 2.0, ("W1", "b1", "W2", "b2", "W3", "b3"))(t, {"outer": imaml_outer})

    def matmul(t, cfg):
        return lambda: t["a"] @ t["b"]

    def imaml_batch(t, cfg):
        # TorchOpt has no vmap over custom_root (torchopt#223): the tasks run in a loop, as its examples do.
        names = ("W1", "b1", "W2", "b2", "W3", "b3")
        meta = tuple(t[k].requires_grad_() for k in names)
        inner_solver = implicit_solver(mlp3, 10, 1e-2, 2.0)
        T = t["xs"].shape[0]

        def run():
            total = 0
            for i in range(T):
                init = tuple(p.detach().clone().requires_grad_() for p in meta)
                sol = inner_solver(init, meta, t["xs"][i], t["ys"][i])
                total = total + F.mse_loss(mlp3(sol, t["xq"][i]), t["yq"][i])
            return torch.autograd.grad(total / T, meta)

        return run

    def per_example(t, cfg):
        ps = tuple(t[k] for k in ("W1", "b1", "W2", "b2"))
        g = torch.func.vmap(torch.func.grad(lambda p, x, y: mlp_loss(p, x[None], y[None])), in_dims=(None, 0, 0))
        return lambda: g(ps, t["x"], t["y"])

    def conv_names(cfg):
        return [f"{p}{b}" for b in range(1, cfg["blocks"] + 1) for p in ("W", "b", "g", "h")] + ["Wf", "bf"]

    def conv_net(ps, x):
        # Blocks of conv3x3 → batch norm (batch statistics) → ReLU → 2×2 max pool, then a linear head.
        for k in range(0, len(ps) - 2, 4):
            x = F.conv2d(x, ps[k], ps[k + 1], padding=1)
            x = F.batch_norm(x, None, None, ps[k + 2], ps[k + 3], training=True)
            x = F.max_pool2d(torch.relu(x), 2)
        return F.linear(x.flatten(1), ps[-2], ps[-1])

    def conv_grad(t, cfg):
        ps = [t[k].requires_grad_() for k in conv_names(cfg)]
        y = t["y"].long()

        def run():
            loss = F.cross_entropy(conv_net(ps, t["x"]), y)
            return [loss.detach(), *torch.autograd.grad(loss, ps)]

        return run

    def conv_maml(t, cfg):
        ps = [t[k].requires_grad_() for k in conv_names(cfg)]
        y, yq = t["y"].long(), t["yq"].long()

        def run():
            g = torch.autograd.grad(F.cross_entropy(conv_net(ps, t["x"]), y), ps, create_graph=True)
            adapted = [p - cfg["lr"] * gi for p, gi in zip(ps, g)]
            return torch.autograd.grad(F.cross_entropy(conv_net(adapted, t["xq"]), yq), ps)

        return run

    def to_tensors(tensors, dtype):
        d = {"float32": torch.float32, "float64": torch.float64}[dtype]
        return {k: torch.from_numpy(decode(v, np.float64).copy()).to(d) for k, v in tensors.items()}

    return versions, to_tensors, (lambda out: out), torch.get_num_threads(), {
        "mlp_grad": mlp_grad, "mlp_hvp": mlp_hvp, "unrolled": unrolled,
        "tutorial": tutorial, "imaml": imaml, "matmul": matmul, "imaml_batch": imaml_batch, "per_example": per_example,
        "conv_grad": conv_grad, "conv_maml": conv_maml,
    }


# ------------------------------------------------------------------------------------------ jax
def jax_workloads():
    import jax
    import jax.numpy as jnp
    import jaxopt
    import optax
    from functools import partial

    jax.config.update("jax_enable_x64", True)
    from importlib.metadata import version

    versions = {"jax": jax.__version__, "jaxopt": version("jaxopt"), "optax": optax.__version__}

    def mse(a, b):
        return jnp.mean((a - b) ** 2)

    def mlp_loss(ps, x, y):
        return mse(jnp.tanh(x @ ps[0] + ps[1]) @ ps[2] + ps[3], y)

    def mlp_grad(t, cfg):
        ps = [t[k] for k in ("W1", "b1", "W2", "b2")]
        f = jax.jit(jax.value_and_grad(mlp_loss))
        return lambda: f(ps, t["x"], t["y"])

    def mlp_hvp(t, cfg):
        ps = [t[k] for k in ("W1", "b1", "W2", "b2")]
        vs = [t[k] for k in ("v1", "v2", "v3", "v4")]
        # Forward-over-reverse, JAX's recommended HVP.
        f = jax.jit(lambda p, v, x, y: jax.jvp(lambda q: jax.grad(mlp_loss)(q, x, y), (p,), (v,))[1])
        return lambda: f(ps, vs, t["x"], t["y"])

    def linear(ps, x):
        return x @ ps[0].T + ps[1]

    def unrolled(t, cfg):
        K, lr = cfg["steps"], cfg["lr"]

        def loss(p):
            return mse(linear(p, t["x"]), t["y"])

        def final(theta):
            step = lambda i, p: jax.tree_util.tree_map(lambda a, g: a - lr * g, p, jax.grad(loss)(p))  # noqa: E731
            return loss(jax.lax.fori_loop(0, K, step, theta))

        f = jax.jit(jax.grad(final))
        return lambda: f((t["W"], t["b"]))

    def mlp3(ps, x):
        h = jax.nn.relu(linear(ps[0:2], x))
        h = jax.nn.relu(linear(ps[2:4], h))
        return linear(ps[4:6], h)

    def implicit_solver(model, steps, lr, lam):
        """The jaxopt custom_root inner solver of the tutorial, for any functional model."""

        def objective(params, meta, x, y):
            reg = sum(0.5 * jnp.sum((a - b) ** 2) for a, b in zip(params, meta))
            return mse(model(params, x), y) + lam * reg

        solve = partial(jaxopt.linear_solve.solve_normal_cg, maxiter=5, tol=0)

        @jaxopt.implicit_diff.custom_root(jax.grad(objective), solve=solve)
        def inner_solver(params, meta, x, y):
            opt = optax.sgd(lr)
            state = opt.init(params)

            def body(i, carry):
                p, s = carry
                u, s = opt.update(jax.grad(objective)(p, meta, x, y), s)
                return optax.apply_updates(p, u), s

            return jax.lax.fori_loop(0, steps, body, (params, state))[0]

        return inner_solver

    def implicit_meta(model, steps, lr, lam, names, outer):
        inner_solver = implicit_solver(model, steps, lr, lam)

        def build(t, cfg):
            meta = tuple(t[k] for k in names)
            f = jax.jit(jax.grad(lambda m: outer(model, inner_solver(m, m, t["xs"], t["ys"]), t)))
            return lambda: f(meta)

        return build

    def tutorial(t, cfg):
        return implicit_meta(linear, 100, 2e-2, 1.0, ("W", "b"), lambda model, sol, t: model(sol, t["xs"]).mean())(t, cfg)

    def imaml(t, cfg):
        names = ("W1", "b1", "W2", "b2", "W3", "b3")
        return implicit_meta(mlp3, 10, 1e-2, 2.0, names, lambda model, sol, t: mse(model(sol, t["xq"]), t["yq"]))(t, cfg)

    def matmul(t, cfg):
        f = jax.jit(jnp.matmul)
        return lambda: f(t["a"], t["b"])

    def imaml_batch(t, cfg):
        names = ("W1", "b1", "W2", "b2", "W3", "b3")
        inner_solver = implicit_solver(mlp3, 10, 1e-2, 2.0)

        def task(m, xs, ys, xq, yq):
            return mse(mlp3(inner_solver(m, m, xs, ys), xq), yq)

        meta = tuple(t[k] for k in names)
        g = jax.grad(lambda m: jnp.mean(jax.vmap(task, in_axes=(None, 0, 0, 0, 0))(m, t["xs"], t["ys"], t["xq"], t["yq"])))
        f = g if cfg.get("jit", True) is False else jax.jit(g)
        return lambda: f(meta)

    def per_example(t, cfg):
        ps = tuple(t[k] for k in ("W1", "b1", "W2", "b2"))
        f = jax.jit(jax.vmap(jax.grad(lambda p, x, y: mlp_loss(p, x[None], y[None])), in_axes=(None, 0, 0)))
        return lambda: f(ps, t["x"], t["y"])

    def conv_names(cfg):
        return [f"{p}{b}" for b in range(1, cfg["blocks"] + 1) for p in ("W", "b", "g", "h")] + ["Wf", "bf"]

    def conv_net(ps, x):
        for k in range(0, len(ps) - 2, 4):
            x = jax.lax.conv_general_dilated(x, ps[k], (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW")) + ps[k + 1][None, :, None, None]
            m = x.mean((0, 2, 3), keepdims=True)
            v = ((x - m) ** 2).mean((0, 2, 3), keepdims=True)
            x = (x - m) / jnp.sqrt(v + 1e-5) * ps[k + 2][None, :, None, None] + ps[k + 3][None, :, None, None]
            x = jax.lax.reduce_window(jax.nn.relu(x), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        return x.reshape(x.shape[0], -1) @ ps[-2].T + ps[-1]

    def xent(logits, y):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits, 1), y[:, None].astype(jnp.int32), 1))

    def conv_grad(t, cfg):
        ps = tuple(t[k] for k in conv_names(cfg))
        f = jax.jit(jax.value_and_grad(lambda p, x, y: xent(conv_net(p, x), y)))
        return lambda: f(ps, t["x"], t["y"])

    def conv_maml(t, cfg):
        ps = tuple(t[k] for k in conv_names(cfg))
        lr = cfg["lr"]

        def meta(p):
            g = jax.grad(lambda q: xent(conv_net(q, t["x"]), t["y"]))(p)
            return xent(conv_net(tuple(a - lr * b for a, b in zip(p, g)), t["xq"]), t["yq"])

        f = jax.jit(jax.grad(meta))
        return lambda: f(ps)

    def deq_forward(t, cfg):
        # The DEQ layer's fixed point by JAXopt's own solvers, run under jax.jit.
        def T(z, W, U, b, x):
            return jnp.tanh(z @ W.T + x @ U.T + b)

        kind, tol, maxiter = cfg["solver"], cfg["tol"], cfg["maxiter"]
        if kind == "fixed_point":
            solver = jaxopt.FixedPointIteration(T, maxiter=maxiter, tol=tol, jit=True)
        elif kind == "anderson":
            solver = jaxopt.AndersonAcceleration(T, history_size=5, maxiter=maxiter, tol=tol, jit=True)
        else:
            solver = jaxopt.Broyden(lambda z, *a: T(z, *a) - z, gamma=-1.0, stepsize=1.0, maxiter=maxiter, tol=tol, jit=True)
        z0 = jnp.zeros((t["x"].shape[0], t["W"].shape[0]), dtype=t["x"].dtype)
        run = jax.jit(lambda *a: (lambda r: (r.state.iter_num, r.params))(solver.run(z0, *a)))
        return lambda: run(t["W"], t["U"], t["b"], t["x"])

    def to_tensors(tensors, dtype):
        return {k: jnp.asarray(decode(v, np.float64), dtype={"float32": jnp.float32, "float64": jnp.float64}[dtype]) for k, v in tensors.items()}

    # Dispatch is asynchronous: a call is timed until its results exist.
    ready = lambda out: jax.block_until_ready(out)  # noqa: E731
    threads = 1 if THREADS == "1" else os.cpu_count()
    return versions, to_tensors, ready, threads, {
        "mlp_grad": mlp_grad, "mlp_hvp": mlp_hvp, "unrolled": unrolled,
        "tutorial": tutorial, "imaml": imaml, "matmul": matmul, "imaml_batch": imaml_batch, "per_example": per_example,
        "deq_forward": deq_forward, "conv_grad": conv_grad, "conv_maml": conv_maml,
    }


def main():
    try:
        versions, to_tensors, ready, threads, workloads = (torch_workloads if FRAMEWORK == "torch" else jax_workloads)()
    except Exception as e:  # a missing package: say so and let the Node side blank the column
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    print(json.dumps({"ok": True, "versions": versions, "threads": threads}), flush=True)
    fns, inner = {}, {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req["op"]
            if op == "setup":
                fn = workloads[req["kind"]](to_tensors(req["tensors"], req["dtype"]), req.get("config", {}))
                call = lambda fn=fn: ready(fn())  # noqa: E731
                out = call()
                fns[req["name"]] = call
                res = {"ok": True, "result": flat(out)}
            elif op == "calibrate":
                call = fns[req["name"]]
                t0, n = time.perf_counter(), 0
                while (time.perf_counter() - t0) * 1e3 < req["warmup_ms"] or n == 0:
                    call()
                    n += 1
                per_call = (time.perf_counter() - t0) * 1e3 / n
                inner[req["name"]] = max(1, min(1_000_000, int(np.ceil(req["min_repeat_ms"] / max(per_call, 1e-6)))))
                res = {"ok": True, "inner": inner[req["name"]]}
            elif op == "sample":
                call, n = fns[req["name"]], inner[req["name"]]
                t0 = time.perf_counter()
                for _ in range(n):
                    call()
                res = {"ok": True, "ms": (time.perf_counter() - t0) * 1e3 / n}
            elif op == "drop":
                fns.pop(req["name"], None)
                res = {"ok": True}
            else:
                res = {"ok": False, "error": f"unknown op {op}"}
        except Exception as e:
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res), flush=True)


main()

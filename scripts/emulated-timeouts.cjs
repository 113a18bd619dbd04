// Required by `npm run check:arm64` (mocha --require): under qemu-user the suite runs 10–20 times
// slower than natively, so the time limits the tests set themselves (this.timeout(ms) on suites
// and tests) are scaled by METAGRAD_TIMEOUT_SCALE (default 20). Limits inside a test's own logic
// (a child process's deadline) are not; a test that fails on one of those says so.
'use strict';
const Mocha = require('mocha');

const scale = Number(process.env.METAGRAD_TIMEOUT_SCALE || 20);
for (const proto of [Mocha.Runnable.prototype, Mocha.Suite.prototype]) {
  const timeout = proto.timeout;
  proto.timeout = function scaledTimeout(ms) {
    if (typeof ms === 'number' && ms > 0) return timeout.call(this, ms * scale);
    return ms === undefined ? timeout.call(this) : timeout.call(this, ms);
  };
}

// Chooses the kernel variant once per process from the CPU's features (and METAGRAD_ISA).
#pragma once
#include <string>
#include <vector>

#include "kernels.h"

namespace mg {

// The variant in use; the choice is made on first call and never changes.
const Kernels& kernels();

// Names of the variants compiled into this binary, baseline first.
std::vector<std::string> compiledIsas();

// Version of the Eigen headers the kernels were built with, e.g. "3.4.0".
const char* eigenVersion();

}  // namespace mg

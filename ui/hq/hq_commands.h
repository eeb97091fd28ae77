#pragma once

#include <string>
#include <vector>

namespace escucha::hq {

/// Runs one escucha-hq command line (without the program name).
int Run(const std::vector<std::string>& args);

} // namespace escucha::hq

// escucha-hq: the headquarters server and its administration commands.
#include "hq_commands.h"

#include <sys/stat.h>

#include <clocale>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    // Everything headquarters writes is for this user alone.
    ::umask(077);
    return escucha::hq::Run(std::vector<std::string>(argv + 1, argv + argc));
}

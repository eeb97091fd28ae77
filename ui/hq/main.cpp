// escucha-hq: the headquarters server and its administration commands.
#include "hq_commands.h"

#include <clocale>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    return escucha::hq::Run(std::vector<std::string>(argv + 1, argv + argc));
}

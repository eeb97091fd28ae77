#include "app.h"

#include <clocale>

int main(int argc, char** argv) {
    std::setlocale(LC_ALL, "");
    return escucha::gui::RunApp(argc, argv);
}

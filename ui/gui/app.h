// The Escucha window: GLFW, OpenGL 3, 2.1 or ES (the first the driver offers), Dear ImGui.
#pragma once

namespace escucha::gui {

/// Opens the window and runs until it closes. Returns the exit code.
int RunApp(int argc, char** argv);

} // namespace escucha::gui

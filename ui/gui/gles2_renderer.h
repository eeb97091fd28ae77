// Draws Dear ImGui's frames with OpenGL ES 2.0 shaders (GLSL "100"), for the
// phones whose driver offers nothing newer. Dear ImGui 1.86 as Debian builds
// it has no renderer for such a context: its OpenGL 3 renderer loads its
// functions through a loader that refuses a context under version 3, and
// its OpenGL 2 renderer uses the fixed pipeline, which ES 2.0 does not have.
// See docs/decisions/0021-phone-window.md.
//
// Everything it calls is in OpenGL ES 2.0 and in OpenGL 2.0, so it draws on
// either; its functions are looked up through GLFW on the current context.
// It keeps Dear ImGui's 16-bit indices; a list of more vertices than they
// reach comes in parts (Dear ImGui's vertex offsets), each drawn with the
// attributes pointed at its first vertex, since ES 2.0 has no base-vertex draw.
//
// Thread contract: the thread whose OpenGL context is current, between Init
// and Shutdown.
#pragma once

struct ImDrawData;

namespace escucha::gui::gles2 {

/// Looks up the functions, compiles and links the shaders in `glsl` ("#version
/// 100", or "#version 120" on desktop OpenGL 2.1), and makes the buffers.
/// False, with the reason on stderr, when the context cannot.
bool Init(const char* glsl);
void Shutdown();
/// The font texture is made here the first time, as Dear ImGui's own renderers do.
void NewFrame();
void RenderDrawData(ImDrawData* data);
bool CreateFontsTexture();
void DestroyFontsTexture();

} // namespace escucha::gui::gles2

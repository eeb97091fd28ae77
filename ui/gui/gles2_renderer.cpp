#include "gles2_renderer.h"

#include <GLFW/glfw3.h>
#include <imgui.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <type_traits>

namespace escucha::gui::gles2 {

namespace {

// The few OpenGL ES 2.0 names used here, by value: the headers of desktop
// OpenGL and of ES disagree on which one may be included beside GLFW's.
using GLenum = unsigned;
using GLuint = unsigned;
using GLint = int;
using GLsizei = int;
using GLboolean = unsigned char;
using GLfloat = float;
using GLsizeiptr = std::ptrdiff_t;

constexpr GLenum TRIANGLES = 0x0004, BLEND = 0x0BE2, CULL_FACE = 0x0B44, DEPTH_TEST = 0x0B71,
                 SCISSOR_TEST = 0x0C11, FUNC_ADD = 0x8006, SRC_ALPHA = 0x0302, ONE_MINUS_SRC_ALPHA = 0x0303,
                 ONE = 1, TEXTURE_2D = 0x0DE1, TEXTURE0 = 0x84C0, TEXTURE_MIN_FILTER = 0x2801,
                 TEXTURE_MAG_FILTER = 0x2800, TEXTURE_WRAP_S = 0x2802, TEXTURE_WRAP_T = 0x2803, LINEAR = 0x2601,
                 CLAMP_TO_EDGE = 0x812F, UNPACK_ALIGNMENT = 0x0CF5, RGBA = 0x1908, UNSIGNED_BYTE = 0x1401,
                 UNSIGNED_SHORT = 0x1403, UNSIGNED_INT = 0x1405, FLOAT = 0x1406, ARRAY_BUFFER = 0x8892,
                 ELEMENT_ARRAY_BUFFER = 0x8893, STREAM_DRAW = 0x88E0, VERTEX_SHADER = 0x8B31,
                 FRAGMENT_SHADER = 0x8B30, COMPILE_STATUS = 0x8B81, LINK_STATUS = 0x8B82, INFO_LOG_LENGTH = 0x8B84;

/// The functions, looked up on the context Init was called on.
struct Gl {
    GLuint (*CreateShader)(GLenum);
    void (*ShaderSource)(GLuint, GLsizei, const char* const*, const GLint*);
    void (*CompileShader)(GLuint);
    void (*GetShaderiv)(GLuint, GLenum, GLint*);
    void (*GetShaderInfoLog)(GLuint, GLsizei, GLsizei*, char*);
    void (*DeleteShader)(GLuint);
    GLuint (*CreateProgram)();
    void (*AttachShader)(GLuint, GLuint);
    void (*DetachShader)(GLuint, GLuint);
    void (*LinkProgram)(GLuint);
    void (*GetProgramiv)(GLuint, GLenum, GLint*);
    void (*GetProgramInfoLog)(GLuint, GLsizei, GLsizei*, char*);
    void (*DeleteProgram)(GLuint);
    void (*UseProgram)(GLuint);
    GLint (*GetUniformLocation)(GLuint, const char*);
    GLint (*GetAttribLocation)(GLuint, const char*);
    void (*Uniform1i)(GLint, GLint);
    void (*UniformMatrix4fv)(GLint, GLsizei, GLboolean, const GLfloat*);
    void (*GenBuffers)(GLsizei, GLuint*);
    void (*DeleteBuffers)(GLsizei, const GLuint*);
    void (*BindBuffer)(GLenum, GLuint);
    void (*BufferData)(GLenum, GLsizeiptr, const void*, GLenum);
    void (*EnableVertexAttribArray)(GLuint);
    void (*DisableVertexAttribArray)(GLuint);
    void (*VertexAttribPointer)(GLuint, GLint, GLenum, GLboolean, GLsizei, const void*);
    void (*GenTextures)(GLsizei, GLuint*);
    void (*DeleteTextures)(GLsizei, const GLuint*);
    void (*BindTexture)(GLenum, GLuint);
    void (*ActiveTexture)(GLenum);
    void (*TexParameteri)(GLenum, GLenum, GLint);
    void (*TexImage2D)(GLenum, GLint, GLint, GLsizei, GLsizei, GLint, GLenum, GLenum, const void*);
    void (*PixelStorei)(GLenum, GLint);
    void (*Enable)(GLenum);
    void (*Disable)(GLenum);
    void (*BlendEquation)(GLenum);
    void (*BlendFuncSeparate)(GLenum, GLenum, GLenum, GLenum);
    void (*Viewport)(GLint, GLint, GLsizei, GLsizei);
    void (*Scissor)(GLint, GLint, GLsizei, GLsizei);
    void (*DrawElements)(GLenum, GLsizei, GLenum, const void*);
};

/// Fills `gl` from the current context; the first name it lacks, or null.
const char* Load(Gl& gl) {
    const char* missing = nullptr;
    auto get = [&missing](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(glfwGetProcAddress(name));
        if (!fn && !missing) missing = name;
    };
    get(gl.CreateShader, "glCreateShader");
    get(gl.ShaderSource, "glShaderSource");
    get(gl.CompileShader, "glCompileShader");
    get(gl.GetShaderiv, "glGetShaderiv");
    get(gl.GetShaderInfoLog, "glGetShaderInfoLog");
    get(gl.DeleteShader, "glDeleteShader");
    get(gl.CreateProgram, "glCreateProgram");
    get(gl.AttachShader, "glAttachShader");
    get(gl.DetachShader, "glDetachShader");
    get(gl.LinkProgram, "glLinkProgram");
    get(gl.GetProgramiv, "glGetProgramiv");
    get(gl.GetProgramInfoLog, "glGetProgramInfoLog");
    get(gl.DeleteProgram, "glDeleteProgram");
    get(gl.UseProgram, "glUseProgram");
    get(gl.GetUniformLocation, "glGetUniformLocation");
    get(gl.GetAttribLocation, "glGetAttribLocation");
    get(gl.Uniform1i, "glUniform1i");
    get(gl.UniformMatrix4fv, "glUniformMatrix4fv");
    get(gl.GenBuffers, "glGenBuffers");
    get(gl.DeleteBuffers, "glDeleteBuffers");
    get(gl.BindBuffer, "glBindBuffer");
    get(gl.BufferData, "glBufferData");
    get(gl.EnableVertexAttribArray, "glEnableVertexAttribArray");
    get(gl.DisableVertexAttribArray, "glDisableVertexAttribArray");
    get(gl.VertexAttribPointer, "glVertexAttribPointer");
    get(gl.GenTextures, "glGenTextures");
    get(gl.DeleteTextures, "glDeleteTextures");
    get(gl.BindTexture, "glBindTexture");
    get(gl.ActiveTexture, "glActiveTexture");
    get(gl.TexParameteri, "glTexParameteri");
    get(gl.TexImage2D, "glTexImage2D");
    get(gl.PixelStorei, "glPixelStorei");
    get(gl.Enable, "glEnable");
    get(gl.Disable, "glDisable");
    get(gl.BlendEquation, "glBlendEquation");
    get(gl.BlendFuncSeparate, "glBlendFuncSeparate");
    get(gl.Viewport, "glViewport");
    get(gl.Scissor, "glScissor");
    get(gl.DrawElements, "glDrawElements");
    return missing;
}

// Shaders in the language both ES 2.0 ("#version 100") and desktop 2.1
// ("#version 120") take; precision is only written for ES, where a fragment
// shader must have one.
constexpr const char* VERTEX_BODY = R"(
uniform mat4 u_projection;
attribute vec2 a_position;
attribute vec2 a_uv;
attribute vec4 a_color;
varying vec2 v_uv;
varying vec4 v_color;
void main() {
    v_uv = a_uv;
    v_color = a_color;
    gl_Position = u_projection * vec4(a_position, 0.0, 1.0);
}
)";
constexpr const char* FRAGMENT_BODY = R"(
#ifdef GL_ES
precision mediump float;
#endif
uniform sampler2D u_texture;
varying vec2 v_uv;
varying vec4 v_color;
void main() {
    gl_FragColor = v_color * texture2D(u_texture, v_uv);
}
)";

struct State {
    Gl gl{};
    GLuint program = 0, vertex_buffer = 0, index_buffer = 0, font_texture = 0;
    GLint projection = -1, texture = -1;
    GLint position = -1, uv = -1, color = -1;
};
State* g_state = nullptr;

/// The shader's info log, for the reason on stderr.
std::string ShaderLog(const Gl& gl, GLuint shader, bool program) {
    GLint length = 0;
    (program ? gl.GetProgramiv : gl.GetShaderiv)(shader, INFO_LOG_LENGTH, &length);
    if (length <= 1) return {};
    std::string text(static_cast<std::size_t>(length), '\0');
    (program ? gl.GetProgramInfoLog : gl.GetShaderInfoLog)(shader, length, nullptr, text.data());
    text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
    return text;
}

GLuint Compile(const Gl& gl, GLenum kind, const char* glsl, const char* body) {
    const std::string text = std::string(glsl) + "\n" + body;
    const char* lines[] = {text.c_str()};
    const GLuint shader = gl.CreateShader(kind);
    if (!shader) return 0;
    gl.ShaderSource(shader, 1, lines, nullptr);
    gl.CompileShader(shader);
    GLint ok = 0;
    gl.GetShaderiv(shader, COMPILE_STATUS, &ok);
    if (!ok) {
        std::fprintf(stderr, "escucha: the %s shader does not compile in %s: %s\n",
                     kind == VERTEX_SHADER ? "vertex" : "fragment", glsl, ShaderLog(gl, shader, false).c_str());
        gl.DeleteShader(shader);
        return 0;
    }
    return shader;
}

/// Everything a frame needs set: this renderer owns the context, so nothing is saved and restored
/// but the scissor test, which the app's clear must not meet.
void SetUp(State& s, ImDrawData* data, int width, int height) {
    const Gl& gl = s.gl;
    gl.Enable(BLEND);
    gl.BlendEquation(FUNC_ADD);
    gl.BlendFuncSeparate(SRC_ALPHA, ONE_MINUS_SRC_ALPHA, ONE, ONE_MINUS_SRC_ALPHA);
    gl.Disable(CULL_FACE);
    gl.Disable(DEPTH_TEST);
    gl.Enable(SCISSOR_TEST);
    gl.Viewport(0, 0, width, height);
    // Dear ImGui's coordinates (top left at DisplayPos, y down) to clip space.
    const float left = data->DisplayPos.x, right = data->DisplayPos.x + data->DisplaySize.x;
    const float top = data->DisplayPos.y, bottom = data->DisplayPos.y + data->DisplaySize.y;
    const GLfloat projection[16] = {
        2.0f / (right - left),           0, 0, 0, 0, 2.0f / (top - bottom), 0, 0, 0, 0, -1, 0,
        (right + left) / (left - right), (top + bottom) / (bottom - top), 0, 1,
    };
    gl.UseProgram(s.program);
    gl.Uniform1i(s.texture, 0);
    gl.UniformMatrix4fv(s.projection, 1, 0, projection);
    gl.ActiveTexture(TEXTURE0);
    gl.BindBuffer(ARRAY_BUFFER, s.vertex_buffer);
    gl.BindBuffer(ELEMENT_ARRAY_BUFFER, s.index_buffer);
    gl.EnableVertexAttribArray(static_cast<GLuint>(s.position));
    gl.EnableVertexAttribArray(static_cast<GLuint>(s.uv));
    gl.EnableVertexAttribArray(static_cast<GLuint>(s.color));
}

/// Points the attributes at the vertices from `first` on: ES 2.0 has no
/// base-vertex draw, so a list of more vertices than 16-bit indices reach
/// is drawn in parts, each from its own first vertex (ImDrawCmd::VtxOffset).
void PointAttributes(const State& s, unsigned first) {
    const Gl& gl = s.gl;
    const auto stride = static_cast<GLsizei>(sizeof(ImDrawVert));
    const std::size_t base = static_cast<std::size_t>(first) * sizeof(ImDrawVert);
    gl.VertexAttribPointer(static_cast<GLuint>(s.position), 2, FLOAT, 0, stride,
                           reinterpret_cast<const void*>(base + offsetof(ImDrawVert, pos)));
    gl.VertexAttribPointer(static_cast<GLuint>(s.uv), 2, FLOAT, 0, stride,
                           reinterpret_cast<const void*>(base + offsetof(ImDrawVert, uv)));
    gl.VertexAttribPointer(static_cast<GLuint>(s.color), 4, UNSIGNED_BYTE, 1, stride,
                           reinterpret_cast<const void*>(base + offsetof(ImDrawVert, col)));
}

} // namespace

bool Init(const char* glsl) {
    auto state = std::make_unique<State>();
    Gl& gl = state->gl;
    if (const char* missing = Load(gl)) {
        std::fprintf(stderr, "escucha: the OpenGL ES 2.0 renderer finds no %s here\n", missing);
        return false;
    }
    const GLuint vertex = Compile(gl, VERTEX_SHADER, glsl, VERTEX_BODY);
    const GLuint fragment = vertex ? Compile(gl, FRAGMENT_SHADER, glsl, FRAGMENT_BODY) : 0;
    if (!vertex || !fragment) {
        if (vertex) gl.DeleteShader(vertex);
        return false;
    }
    state->program = gl.CreateProgram();
    gl.AttachShader(state->program, vertex);
    gl.AttachShader(state->program, fragment);
    gl.LinkProgram(state->program);
    gl.DetachShader(state->program, vertex);
    gl.DetachShader(state->program, fragment);
    gl.DeleteShader(vertex);
    gl.DeleteShader(fragment);
    GLint linked = 0;
    gl.GetProgramiv(state->program, LINK_STATUS, &linked);
    if (!linked) {
        std::fprintf(stderr, "escucha: the shaders do not link in %s: %s\n", glsl,
                     ShaderLog(gl, state->program, true).c_str());
        gl.DeleteProgram(state->program);
        return false;
    }
    state->projection = gl.GetUniformLocation(state->program, "u_projection");
    state->texture = gl.GetUniformLocation(state->program, "u_texture");
    state->position = gl.GetAttribLocation(state->program, "a_position");
    state->uv = gl.GetAttribLocation(state->program, "a_uv");
    state->color = gl.GetAttribLocation(state->program, "a_color");
    if (state->position < 0 || state->uv < 0 || state->color < 0) {
        std::fprintf(stderr, "escucha: the linked shaders lack an attribute in %s\n", glsl);
        gl.DeleteProgram(state->program);
        return false;
    }
    gl.GenBuffers(1, &state->vertex_buffer);
    gl.GenBuffers(1, &state->index_buffer);
    ImGuiIO& io = ImGui::GetIO();
    io.BackendRendererName = "escucha_gles2";
    // Big lists come in parts of at most 65,536 vertices, each with its offset (PointAttributes).
    io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;
    g_state = state.release();
    return true;
}

void Shutdown() {
    if (!g_state) return;
    DestroyFontsTexture();
    const Gl& gl = g_state->gl;
    gl.DeleteBuffers(1, &g_state->vertex_buffer);
    gl.DeleteBuffers(1, &g_state->index_buffer);
    gl.DeleteProgram(g_state->program);
    ImGui::GetIO().BackendRendererName = nullptr;
    ImGui::GetIO().BackendFlags &= ~ImGuiBackendFlags_RendererHasVtxOffset;
    delete g_state;
    g_state = nullptr;
}

void NewFrame() {
    if (g_state && !g_state->font_texture) CreateFontsTexture();
}

bool CreateFontsTexture() {
    if (!g_state) return false;
    DestroyFontsTexture(); // a new scale makes a new one
    const Gl& gl = g_state->gl;
    ImGuiIO& io = ImGui::GetIO();
    unsigned char* pixels = nullptr;
    int width = 0, height = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &width, &height);
    gl.GenTextures(1, &g_state->font_texture);
    gl.BindTexture(TEXTURE_2D, g_state->font_texture);
    // ES 2.0 takes a texture of any size only without mipmaps and with its edges clamped.
    gl.TexParameteri(TEXTURE_2D, TEXTURE_MIN_FILTER, LINEAR);
    gl.TexParameteri(TEXTURE_2D, TEXTURE_MAG_FILTER, LINEAR);
    gl.TexParameteri(TEXTURE_2D, TEXTURE_WRAP_S, CLAMP_TO_EDGE);
    gl.TexParameteri(TEXTURE_2D, TEXTURE_WRAP_T, CLAMP_TO_EDGE);
    gl.PixelStorei(UNPACK_ALIGNMENT, 1);
    gl.TexImage2D(TEXTURE_2D, 0, static_cast<GLint>(RGBA), width, height, 0, RGBA, UNSIGNED_BYTE, pixels);
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<std::intptr_t>(g_state->font_texture)));
    return true;
}

void DestroyFontsTexture() {
    if (!g_state || !g_state->font_texture) return;
    g_state->gl.DeleteTextures(1, &g_state->font_texture);
    ImGui::GetIO().Fonts->SetTexID(nullptr);
    g_state->font_texture = 0;
}

void RenderDrawData(ImDrawData* data) {
    if (!g_state || !data) return;
    State& s = *g_state;
    const Gl& gl = s.gl;
    const int width = static_cast<int>(data->DisplaySize.x * data->FramebufferScale.x);
    const int height = static_cast<int>(data->DisplaySize.y * data->FramebufferScale.y);
    if (width <= 0 || height <= 0) return;
    SetUp(s, data, width, height);
    static_assert(sizeof(ImDrawIdx) == 2 || sizeof(ImDrawIdx) == 4);
    // 32-bit indices need an ES 2.0 extension; Debian's Dear ImGui uses 16-bit ones.
    const GLenum index_type = sizeof(ImDrawIdx) == 2 ? UNSIGNED_SHORT : UNSIGNED_INT;
    const ImVec2 origin = data->DisplayPos, scale = data->FramebufferScale;
    for (int n = 0; n < data->CmdListsCount; ++n) {
        const ImDrawList* list = data->CmdLists[n];
        gl.BufferData(ARRAY_BUFFER, static_cast<GLsizeiptr>(list->VtxBuffer.Size) * sizeof(ImDrawVert),
                      list->VtxBuffer.Data, STREAM_DRAW);
        gl.BufferData(ELEMENT_ARRAY_BUFFER, static_cast<GLsizeiptr>(list->IdxBuffer.Size) * sizeof(ImDrawIdx),
                      list->IdxBuffer.Data, STREAM_DRAW);
        unsigned first = 0;
        PointAttributes(s, first);
        for (const ImDrawCmd& cmd : list->CmdBuffer) {
            if (cmd.UserCallback) {
                if (cmd.UserCallback == ImDrawCallback_ResetRenderState) {
                    SetUp(s, data, width, height);
                    PointAttributes(s, first);
                } else {
                    cmd.UserCallback(list, &cmd);
                }
                continue;
            }
            if (cmd.VtxOffset != first) PointAttributes(s, first = cmd.VtxOffset);
            // The clip rectangle in framebuffer pixels, y up.
            const float x0 = (cmd.ClipRect.x - origin.x) * scale.x, y0 = (cmd.ClipRect.y - origin.y) * scale.y;
            const float x1 = (cmd.ClipRect.z - origin.x) * scale.x, y1 = (cmd.ClipRect.w - origin.y) * scale.y;
            if (x1 <= x0 || y1 <= y0) continue;
            gl.Scissor(static_cast<GLint>(x0), static_cast<GLint>(static_cast<float>(height) - y1),
                       static_cast<GLsizei>(x1 - x0), static_cast<GLsizei>(y1 - y0));
            gl.BindTexture(TEXTURE_2D, static_cast<GLuint>(reinterpret_cast<std::intptr_t>(cmd.GetTexID())));
            gl.DrawElements(TRIANGLES, static_cast<GLsizei>(cmd.ElemCount), index_type,
                            reinterpret_cast<const void*>(static_cast<std::uintptr_t>(cmd.IdxOffset) *
                                                          sizeof(ImDrawIdx)));
        }
    }
    // The app clears the whole window before the next frame.
    gl.Disable(SCISSOR_TEST);
}

} // namespace escucha::gui::gles2

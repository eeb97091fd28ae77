// [SECTION] Options and fonts
// [SECTION] Graphics: the context the driver offers
// [SECTION] Input: keys that come and go between two frames
// [SECTION] Layout
// [SECTION] Window and loop
#include "app.h"

#include "app_state.h"
#include "gles2_renderer.h"
#include "i18n.h"
#include "on_screen_keyboard.h"
#include "panels.h"
#include "settings.h"
#include "touch_input.h"
#include "wrap_text.h"

#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl2.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

namespace escucha::gui {

namespace {

// [SECTION] Options and fonts

struct Options {
    std::filesystem::path vault;
    int width = 1280, height = 800;
    /// Draw every frame, as Dear ImGui's examples do: only for measuring
    /// what sleeping between events saves.
    bool render_every_frame = false;
    /// Print each frame's drawing time to stderr (for the benchmark), and
    /// each time the loop goes to sleep with nothing due (for the idle test).
    bool frame_log = false;
    /// Only this kind of context ("3", "2.1", "es3", "es2"): for tests and
    /// measurements; by default the first the driver offers.
    std::string gl;
    bool version = false, help = false;
};

Options ReadOptions(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--vault") == 0 && has_value) o.vault = argv[++i];
        else if (std::strcmp(argv[i], "--size") == 0 && has_value) std::sscanf(argv[++i], "%dx%d", &o.width, &o.height);
        else if (std::strcmp(argv[i], "--render-every-frame") == 0) o.render_every_frame = true;
        else if (std::strcmp(argv[i], "--frame-log") == 0) o.frame_log = true;
        else if (std::strcmp(argv[i], "--gl") == 0 && has_value) o.gl = argv[++i];
        else if (std::strcmp(argv[i], "--version") == 0) o.version = true;
        else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) o.help = true;
    }
    if (o.vault.empty()) {
        if (const char* env = std::getenv("ESCUCHA_VAULT"); env && *env) o.vault = env;
        else if (const char* home = std::getenv("HOME"); home && *home)
            o.vault = std::filesystem::path(home) / ".local/share/escucha/vault";
        else o.vault = "escucha-vault";
    }
    return o;
}

void LoadFonts(float scale) {
    ImGuiIO& io = ImGui::GetIO();
    io.Fonts->Clear();
    // Latin with every accent Spanish, French, Portuguese and Haitian Creole
    // use (and Vietnamese and more), general punctuation, the euro sign.
    static const ImWchar RANGES[] = {0x0020, 0x024F, 0x1E00, 0x1EFF, 0x2000, 0x206F, 0x20AC, 0x20AC, 0};
    for (const char* path :
         {"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}) {
        if (std::filesystem::exists(path)) {
            io.Fonts->AddFontFromFileTTF(path, 18.0f * scale, nullptr, RANGES);
            return;
        }
    }
    ImFontConfig config;
    config.SizePixels = 13.0f * scale;
    io.Fonts->AddFontDefault(&config);
}

/// Dear ImGui's renderer for the context the app got (see GlKind).
struct Renderer {
    bool (*init)(const char* glsl);
    void (*shutdown)();
    void (*new_frame)();
    void (*render)(ImDrawData*);
    bool (*create_fonts)();
    void (*destroy_fonts)();
};

/// Shaders: OpenGL 3, OpenGL ES 3 (and ES 2 where the driver reports version 3).
constexpr Renderer SHADER_RENDERER{
    [](const char* glsl) { return ImGui_ImplOpenGL3_Init(glsl); }, ImGui_ImplOpenGL3_Shutdown,
    ImGui_ImplOpenGL3_NewFrame,                                    ImGui_ImplOpenGL3_RenderDrawData,
    ImGui_ImplOpenGL3_CreateFontsTexture,                          ImGui_ImplOpenGL3_DestroyFontsTexture};
/// The fixed pipeline: OpenGL 2.1, whose version the shader renderer's loader refuses.
constexpr Renderer FIXED_RENDERER{
    [](const char*) { return ImGui_ImplOpenGL2_Init(); }, ImGui_ImplOpenGL2_Shutdown,
    ImGui_ImplOpenGL2_NewFrame,                          ImGui_ImplOpenGL2_RenderDrawData,
    ImGui_ImplOpenGL2_CreateFontsTexture,                ImGui_ImplOpenGL2_DestroyFontsTexture};

/// Our own, with ES 2.0 shaders: for drivers that offer nothing newer (see gles2_renderer.h).
constexpr Renderer ES2_RENDERER{gles2::Init,     gles2::Shutdown,           gles2::NewFrame,
                                gles2::RenderDrawData, gles2::CreateFontsTexture, gles2::DestroyFontsTexture};

const Renderer* g_renderer = &SHADER_RENDERER;

void ApplyScale(float scale) {
    LoadFonts(scale);
    g_renderer->destroy_fonts();
    g_renderer->create_fonts();
    ImGuiStyle style;
    ImGui::StyleColorsLight(&style);
    // Menus, dropdowns and dialogs are opaque: text under them must not show through.
    style.Colors[ImGuiCol_PopupBg] = ImVec4(1, 1, 1, 1);
    style.Colors[ImGuiCol_WindowBg].w = 1.0f;
    style.Colors[ImGuiCol_MenuBarBg].w = 1.0f;
    style.PopupBorderSize = 1.0f;
    style.ScaleAllSizes(scale);
    ImGui::GetStyle() = style;
}

// [SECTION] Graphics: the context the driver offers

/// One kind of OpenGL context, and what draws Dear ImGui's frames on it.
/// Dear ImGui 1.86 as Debian builds it has an OpenGL 3 renderer whose
/// function loader refuses a context whose GL_MAJOR_VERSION is under 3, so
/// OpenGL 2.1 is drawn by its OpenGL 2 renderer (the fixed pipeline, which
/// 2.1 has), and OpenGL ES 2.0, which has neither, by our own (gles2_renderer.h).
struct GlKind {
    const char* key;  ///< for --gl
    const char* name; ///< shown in the settings and the log
    int api, major, minor;
    const char* glsl; ///< null: no shaders (the fixed pipeline)
    const Renderer* renderer;
};

/// Tried in this order: desktop OpenGL 3, then 2.1 (Mali-400 through Mesa
/// lima, old Intel), then OpenGL ES 3.0 and 2.0 (phones whose driver offers
/// only ES).
constexpr GlKind GL_KINDS[] = {
    {"3", "OpenGL 3", GLFW_OPENGL_API, 3, 0, "#version 130", &SHADER_RENDERER},
    {"2.1", "OpenGL 2.1", GLFW_OPENGL_API, 2, 1, nullptr, &FIXED_RENDERER},
    {"es3", "OpenGL ES 3.0", GLFW_OPENGL_ES_API, 3, 0, "#version 300 es", &SHADER_RENDERER},
    {"es2", "OpenGL ES 2.0", GLFW_OPENGL_ES_API, 2, 0, "#version 100", &ES2_RENDERER},
};

/// Whether the current context compiles Dear ImGui's kind of shader in
/// `glsl`: a driver may create a context whose shader language is older
/// than its version promises.
bool CompilesShaders(const char* glsl) {
    using CreateShader = unsigned (*)(unsigned);
    using ShaderSource = void (*)(unsigned, int, const char* const*, const int*);
    using CompileShader = void (*)(unsigned);
    using GetShaderiv = void (*)(unsigned, unsigned, int*);
    using DeleteShader = void (*)(unsigned);
    const auto create = reinterpret_cast<CreateShader>(glfwGetProcAddress("glCreateShader"));
    const auto source = reinterpret_cast<ShaderSource>(glfwGetProcAddress("glShaderSource"));
    const auto compile = reinterpret_cast<CompileShader>(glfwGetProcAddress("glCompileShader"));
    const auto get = reinterpret_cast<GetShaderiv>(glfwGetProcAddress("glGetShaderiv"));
    const auto remove = reinterpret_cast<DeleteShader>(glfwGetProcAddress("glDeleteShader"));
    if (!create || !source || !compile || !get || !remove) return false;
    constexpr unsigned VERTEX_SHADER = 0x8B31, COMPILE_STATUS = 0x8B81;
    const bool modern = std::strstr(glsl, "130") || std::strstr(glsl, "300 es");
    const std::string text = std::string(glsl) + "\n" +
                             (modern ? "in vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }\n"
                                     : "attribute vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }\n");
    const char* lines[] = {text.c_str()};
    const unsigned shader = create(VERTEX_SHADER);
    if (!shader) return false;
    source(shader, 1, lines, nullptr);
    compile(shader);
    int ok = 0;
    get(shader, COMPILE_STATUS, &ok);
    remove(shader);
    return ok != 0;
}

/// The window with the first context the driver offers and Dear ImGui's
/// renderer starts on (or the one asked for with --gl); null when there is
/// none. `chosen` says which. The ImGui context must exist.
GLFWwindow* OpenWindow(const Options& o, const GlKind*& chosen) {
    for (const GlKind& kind : GL_KINDS) {
        if (!o.gl.empty() && o.gl != kind.key) continue;
        // OpenGL ES on X11 comes through GLX when the driver offers it there, else through EGL.
        for (int api : {GLFW_NATIVE_CONTEXT_API, GLFW_EGL_CONTEXT_API}) {
            if (api == GLFW_EGL_CONTEXT_API && kind.api != GLFW_OPENGL_ES_API) break;
            glfwDefaultWindowHints();
            glfwWindowHint(GLFW_CLIENT_API, kind.api);
            glfwWindowHint(GLFW_CONTEXT_CREATION_API, api);
            glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, kind.major);
            glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, kind.minor);
            GLFWwindow* window = glfwCreateWindow(o.width, o.height, "Escucha", nullptr, nullptr);
            if (!window) continue;
            glfwMakeContextCurrent(window);
            if (kind.glsl && !CompilesShaders(kind.glsl)) {
                std::fprintf(stderr, "escucha: %s does not compile %s shaders here; trying the next\n", kind.name,
                             kind.glsl);
            } else if (kind.renderer->init(kind.glsl)) {
                chosen = &kind;
                g_renderer = kind.renderer;
                return window;
            } else {
                std::fprintf(stderr, "escucha: Dear ImGui cannot draw on %s here; trying the next\n", kind.name);
            }
            glfwMakeContextCurrent(nullptr);
            glfwDestroyWindow(window);
        }
    }
    return nullptr;
}

/// GLFW's complaints go to the log: which contexts were refused, and why.
extern "C" void OnGlfwError(int code, const char* text) {
    std::fprintf(stderr, "escucha: window system: %s (%#x)\n", text ? text : "", static_cast<unsigned>(code));
}

// [SECTION] Input: keys that come and go between two frames

/// Set by SIGTERM, SIGINT or SIGHUP (a shutdown, a closed terminal): the loop
/// sees it within half a second and closes as the window's close button
/// would, saving first.
volatile std::sig_atomic_t g_stop_signal = 0;

/// The loop may sleep in glfwWaitEvents with nothing due, and GLFW sleeps on
/// through a signal; so the handler writes a byte here (write is safe in a
/// handler) and a thread waiting on the other end wakes the loop.
int g_stop_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int) {
    g_stop_signal = 1;
    if (g_stop_pipe[1] >= 0) {
        const char byte = 1;
        [[maybe_unused]] const ssize_t written = write(g_stop_pipe[1], &byte, 1);
    }
}

/// Set by the window's callbacks on the UI thread; read by the loop.
bool g_activity = true; ///< something to draw
bool g_input = false;   ///< a person did something (keeps the vault from locking itself)

/// Dear ImGui 1.86 reads keys as state once per frame. The app sleeps until
/// an event comes, and a slow device may deliver a key's press and release
/// in one batch: ImGui would never see the press (a lost Enter or
/// Backspace), two quick Backspaces would count as one, and a Ctrl released
/// in the same batch as the N of Ctrl+N would turn it into a plain N. So
/// after a press, releases wait for the next frame; and once one event
/// waits, every later key and character waits behind it, in order.
struct KeyEvent {
    int key;      ///< GLFW key, or -1 for a character
    int scancode; ///< or the character's code point
    int action, mods;
};
bool g_pressed_since_frame = false;
std::vector<KeyEvent> g_deferred_keys;

void OnKey(GLFWwindow* window, int key, int scancode, int action, int mods) {
    g_activity = g_input = true;
    // Letters typed without Ctrl, Alt or Super reach ImGui as characters; their
    // key state matters to nothing, so their releases need not wait (fast
    // typing then never queues up).
    const bool plain_letter = key >= GLFW_KEY_SPACE && key <= GLFW_KEY_WORLD_2 &&
                              !(mods & (GLFW_MOD_CONTROL | GLFW_MOD_ALT | GLFW_MOD_SUPER));
    if (!g_deferred_keys.empty() || (action == GLFW_RELEASE && g_pressed_since_frame && !plain_letter)) {
        g_deferred_keys.push_back({key, scancode, action, mods});
        return;
    }
    if (action == GLFW_PRESS) g_pressed_since_frame = true;
    ImGui_ImplGlfw_KeyCallback(window, key, scancode, action, mods);
}

void OnChar(GLFWwindow* window, unsigned int c) {
    g_activity = g_input = true;
    if (!g_deferred_keys.empty()) {
        g_deferred_keys.push_back({-1, static_cast<int>(c), 0, 0});
        return;
    }
    ImGui_ImplGlfw_CharCallback(window, c);
}

/// After a frame: what was held back goes on, as far as one frame allows.
void ReleaseDeferredKeys(GLFWwindow* window) {
    g_pressed_since_frame = false;
    auto queue = std::move(g_deferred_keys);
    g_deferred_keys.clear();
    for (const auto& e : queue) {
        if (e.key == -1) OnChar(window, static_cast<unsigned int>(e.scancode));
        else OnKey(window, e.key, e.scancode, e.action, e.mods);
    }
}

/// A fingerprint of what a frame draws: its vertices, indices and commands.
std::size_t HashDrawData(const ImDrawData* data) {
    std::size_t h = 0;
    const auto mix = [&h](const void* bytes, std::size_t size) {
        const std::string_view view(static_cast<const char*>(bytes), size);
        h = h * 1099511628211u ^ std::hash<std::string_view>{}(view);
    };
    if (!data) return h;
    for (int i = 0; i < data->CmdListsCount; ++i) {
        const ImDrawList* list = data->CmdLists[i];
        mix(list->VtxBuffer.Data, static_cast<std::size_t>(list->VtxBuffer.Size) * sizeof(ImDrawVert));
        mix(list->IdxBuffer.Data, static_cast<std::size_t>(list->IdxBuffer.Size) * sizeof(ImDrawIdx));
        for (const ImDrawCmd& cmd : list->CmdBuffer) {
            const float clip[4] = {cmd.ClipRect.x, cmd.ClipRect.y, cmd.ClipRect.z, cmd.ClipRect.w};
            mix(clip, sizeof clip);
            const std::size_t counts[2] = {cmd.ElemCount, cmd.IdxOffset};
            mix(counts, sizeof counts);
        }
    }
    return h;
}

/// What is copied from a wrapped editor leaves without its soft breaks
/// (see wrap_text.h); saved text never holds '\r', so nothing else changes.
void SetClipboard(void* user_data, const char* text) {
    glfwSetClipboardString(static_cast<GLFWwindow*>(user_data), UnwrapText(text).c_str());
}

// [SECTION] Layout

bool IsRecordSection(const std::string& section) {
    for (const auto& s : RecordSections())
        if (s == section) return true;
    return false;
}

void Shortcuts(AppState& s) {
    const ImGuiIO& io = ImGui::GetIO();
    if (!io.KeyCtrl) return;
    if (ImGui::IsKeyPressed(GLFW_KEY_N, false) && IsRecordSection(s.Section())) s.editing.NewRecord(s.Section());
    if (ImGui::IsKeyPressed(GLFW_KEY_F, false)) {
        s.Show(SECTION_SEARCH);
        s.search.RequestFocus();
    }
    if (ImGui::IsKeyPressed(GLFW_KEY_L, false)) s.Lock();
    // While listening: keys that never type a letter, shown on the screen.
    if (s.audio.Screen() == AudioScreen::Player && s.audio.CurrentPlayer()) {
        if (ImGui::IsKeyPressed(GLFW_KEY_SPACE, false)) s.audio.Toggle();
        if (ImGui::IsKeyPressed(GLFW_KEY_ENTER, false) || ImGui::IsKeyPressed(GLFW_KEY_KP_ENTER, false))
            s.audio.StampStart();
        if (ImGui::IsKeyPressed(GLFW_KEY_S, false)) s.audio.SaveSegment();
    }
}

void DrawContent(AppState& s, const Frame& f) {
    if (s.Section() == SECTION_SYNC) return DrawSync(s.sync, s.editing, f);
    if (s.Section() == SECTION_SETTINGS) return DrawSettings(s.settings, s, f);
    if (s.Section() == SECTION_CODEBOOK) return DrawCodebook(s.coding, s.editing, s, f);
    if (s.Section() == SECTION_RESULTS) return DrawResults(s.coding, s.editing, s, f);
    if (s.audio.Screen() != AudioScreen::None) return DrawAudio(s.audio, f);
    if (s.Section() == SECTION_SEARCH) return DrawSearch(s.search, s.editing, f);
    if (s.social.CurrentStep() != SocialFeature::Step::Closed) return DrawSocialImport(s.social, f);
    if (s.editing.Draft()) return DrawRecordEditor(s.editing, s.audio, s.coding, s.activities, s.social, f);
    if (s.Section() == capture::SOCIAL_ITEM) DrawSocialImportButton(s.social, f);
    DrawRecordList(s.editing, s.sync, s.Section(), f);
}

/// Phone-sized: one column; the open record replaces the list.
void DrawNarrow(AppState& s, const Frame& f) {
    DrawTopBar(s, f);
    DrawRecovered(s.audio, f);
    ImGui::BeginChild("content", ImVec2(0, 0), false);
    if (s.editing.Draft() && s.Section() == SECTION_SEARCH && s.audio.Screen() == AudioScreen::None)
        DrawRecordEditor(s.editing, s.audio, s.coding, s.activities, s.social, f);
    else DrawContent(s, f);
    ImGui::EndChild();
}

/// Desktop: sections, list and record side by side; a profile's narratives beside it when there is room.
void DrawWide(AppState& s, const Frame& f) {
    DrawTopBar(s, f);
    DrawRecovered(s.audio, f);
    const float nav = 210.0f * f.scale;
    ImGui::BeginChild("navigation", ImVec2(nav, 0), true);
    DrawNavigation(s, f);
    ImGui::EndChild();
    ImGui::SameLine();
    // The recorder, and the player with its transcript, take all the room beside the sections.
    if (s.Section() == SECTION_SYNC || s.Section() == SECTION_SETTINGS || s.Section() == SECTION_CODEBOOK ||
        s.Section() == SECTION_RESULTS || s.audio.Screen() != AudioScreen::None ||
        s.social.CurrentStep() != SocialFeature::Step::Closed) {
        ImGui::BeginChild("panel", ImVec2(0, 0), true);
        DrawContent(s, f);
        ImGui::EndChild();
        return;
    }
    const float avail = ImGui::GetContentRegionAvail().x;
    // A profile is written beside the narratives it draws on: the list gives up room.
    const bool profile = s.editing.ReadsBeside() && s.Section() != SECTION_SEARCH;
    const float list = s.Section() == SECTION_SEARCH ? avail * 0.45f
                       : profile                     ? std::min(240.0f * f.scale, avail * 0.25f)
                                                     : std::min(360.0f * f.scale, avail * 0.4f);
    ImGui::BeginChild("list", ImVec2(list, 0), true);
    if (s.Section() == SECTION_SEARCH) DrawSearch(s.search, s.editing, f);
    else {
        if (s.Section() == capture::SOCIAL_ITEM) DrawSocialImportButton(s.social, f);
        DrawRecordList(s.editing, s.sync, s.Section(), f);
    }
    ImGui::EndChild();
    ImGui::SameLine();
    const bool beside = profile && ImGui::GetContentRegionAvail().x > 600.0f * f.scale;
    ImGui::BeginChild("editor", ImVec2(beside ? ImGui::GetContentRegionAvail().x * 0.55f : 0, 0), true);
    DrawRecordEditor(s.editing, s.audio, s.coding, s.activities, s.social, f);
    ImGui::EndChild();
    if (beside) {
        ImGui::SameLine();
        ImGui::BeginChild("narratives", ImVec2(0, 0), true);
        ImGui::TextUnformatted(Tr("Narratives it draws on"));
        ImGui::Separator();
        DrawLinkedNarratives(s.editing, f);
        ImGui::EndChild();
    }
}

void DrawFrame(AppState& s, const Frame& f) {
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->WorkPos);
    ImGui::SetNextWindowSize(vp->WorkSize);
    ImGui::Begin("Escucha", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoBringToFrontOnFocus);
    if (s.session.CurrentScreen() == Screen::Unlock) {
        DrawUnlock(s.session, s.settings, f);
    } else {
        Shortcuts(s);
        const bool needs_project = s.lists.ProjectsLoaded() && s.lists.ProjectId().empty() &&
                                   s.Section() != SECTION_SYNC && s.Section() != SECTION_SETTINGS &&
                                   !HasRole(s.Section(), storage::RecordRole::Scope);
        if (!s.lists.ProjectsLoaded()) ImGui::TextDisabled("%s", Tr("Reading…"));
        else if (needs_project) DrawFirstProject(s.lists, s, f);
        else if (f.narrow) DrawNarrow(s, f);
        else DrawWide(s, f);
    }
    ImGui::End();
}

double MillisSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

// [SECTION] Window and loop

int RunApp(int argc, char** argv) {
    const Options options = ReadOptions(argc, argv);
    if (options.version) {
        std::printf("escucha %s\n", ESCUCHA_VERSION);
        return 0;
    }
    if (options.help) {
        std::printf("escucha %s: listen, record and interpret in the field.\n"
                    "Usage: escucha [--vault DIR] [--size WIDTHxHEIGHT] [--gl 3|2.1|es3|es2] [--version]\n"
                    "The vault is $ESCUCHA_VAULT, or ~/.local/share/escucha/vault. The command line: escucha-cli help\n",
                    ESCUCHA_VERSION);
        return 0;
    }
    // The chosen language, before anything can go wrong: the words below are the person's.
    {
        const Settings settings = LoadSettings(DefaultSettingsFile());
        SetLanguage(settings.language.empty() ? SystemLanguage() : settings.language);
    }
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!display || !*display) && (!wayland || !*wayland)) {
        std::fprintf(stderr, "escucha: there is no display to open a window on (DISPLAY is not set).\n"
                             "Run it from a desktop session, or use the command line: escucha-cli help\n");
        return 2;
    }
    if (!glfwInit()) {
        std::fprintf(stderr,
                     "escucha: the window system could not be started (DISPLAY=%s).\n"
                     "Use the command line meanwhile: escucha-cli help\n",
                     display ? display : "");
        return 2;
    }
    glfwSetErrorCallback(OnGlfwError);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    const GlKind* gl = nullptr;
    GLFWwindow* window = OpenWindow(options, gl);
    if (!window) {
        ImGui::DestroyContext();
        std::fprintf(stderr, "escucha: %s\n",
                     Tr("The graphics driver offers neither OpenGL 3, OpenGL 2.1, OpenGL ES 3.0 nor OpenGL ES 2.0, "
                        "so the window cannot be drawn on this screen. The command line works without it: "
                        "escucha-cli help"));
        glfwTerminate();
        return 2;
    }
    glfwSwapInterval(1);
    char graphics[256];
    {
        const auto* version = reinterpret_cast<const char*>(glGetString(GL_VERSION));
        const auto* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
        std::snprintf(graphics, sizeof graphics, "%s (%s, %s)", gl->name, version ? version : "?",
                      renderer ? renderer : "?");
        std::fprintf(stderr, "escucha: drawing with %s, %s\n", graphics, gl->glsl ? gl->glsl : "no shaders");
    }

    ImGui::GetIO().IniFilename = nullptr; // nothing written outside the vault
    // Our callbacks first: the ImGui backend chains to them. They only note
    // that something happened, so that an idle app draws nothing.
    glfwSetMouseButtonCallback(window, [](GLFWwindow*, int, int, int) { g_activity = g_input = true; });
    glfwSetCursorPosCallback(window, [](GLFWwindow*, double, double) { g_activity = g_input = true; });
    glfwSetScrollCallback(window, [](GLFWwindow*, double, double) { g_activity = g_input = true; });
    glfwSetWindowFocusCallback(window, [](GLFWwindow*, int) { g_activity = true; });
    glfwSetWindowRefreshCallback(window, [](GLFWwindow*) { g_activity = true; });
    glfwSetFramebufferSizeCallback(window, [](GLFWwindow*, int, int) { g_activity = true; });
    glfwSetWindowContentScaleCallback(window, [](GLFWwindow*, float, float) { g_activity = true; });
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    // Keys and characters go through our queue (see OnKey), which then calls the backend.
    glfwSetKeyCallback(window, OnKey);
    glfwSetCharCallback(window, OnChar);
    ImGui::GetIO().SetClipboardTextFn = SetClipboard;
    ImGui::GetIO().ClipboardUserData = window;

    {
        UiQueue ui([] { glfwPostEmptyEvent(); });
        VaultWorker worker(ui, "escucha-vault");
        VaultWorker sync_worker(ui, "escucha-sync");
        AppState state(worker, sync_worker, options.vault);
        // A sound file instead of the microphone: demonstrations and screenshots without a sound card.
        if (const char* file = std::getenv("ESCUCHA_AUDIO_INPUT_FILE"); file && *file)
            state.audio.open_input = [path = std::string(file)](CaptureSink& sink) {
                return OpenFileInput(sink, path);
            };
        std::fprintf(stderr, "escucha: window open\n");
        struct sigaction stop {};
        stop.sa_handler = OnStopSignal;
        sigemptyset(&stop.sa_mask);
        std::thread stop_waker;
        if (pipe(g_stop_pipe) == 0) {
            stop_waker = std::thread([fd = g_stop_pipe[0]] {
                char byte;
                while (read(fd, &byte, 1) == 1) glfwPostEmptyEvent();
            });
        }
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &stop, nullptr);
        bool first_frame_shown = false;
        bool lists_pending = false;
        int frames_to_draw = 3;
        std::size_t last_look = 0;
        float font_scale = 0;
        bool stopping = false;
        int stop_rounds = 0;
        TouchInput touch;
        OnScreenKeyboard keyboard(options.frame_log);
        float last_height = 0;
        bool asleep_logged = false;
        while (!glfwWindowShouldClose(window)) {
            // On a stop signal, a few more rounds take in the keys already
            // sent (the last words typed), then the loop ends.
            if (g_stop_signal) {
                if (stopping && (g_deferred_keys.empty() || ++stop_rounds > 1000)) break;
                stopping = true;
                g_activity = true;
            }
            // Frames still to draw (held-back keys, ImGui settling after
            // input) are drawn at once; otherwise sleep.
            // Recording or playing, the clock and the level meter move: about
            // 25 frames a second, never more, whatever the screen's refresh.
            const bool live = state.audio.Live();
            // A glide after a flick moves on its own, at about 60 frames a second.
            const bool animating = touch.Animating();
            if (options.render_every_frame || stopping || g_activity || (frames_to_draw > 0 && !live && !animating)) {
                glfwPollEvents();
            } else if (live || animating) {
                glfwWaitEventsTimeout(animating ? 1.0 / 60 : 0.04);
            } else {
                // Sleep until input, posted work, or the next thing due by
                // the clock (autosave, auto-lock, a sync, a long press); with
                // nothing due, until an event: idle, the processor sleeps.
                double due = state.NextDue();
                if (const double press = touch.WakeAt(); press >= 0 && (due < 0 || press < due)) due = press;
                const double wait = due < 0 ? -1 : std::max(0.0, due - glfwGetTime()) + 0.001;
                if (options.frame_log && !asleep_logged) {
                    if (wait < 0) std::fprintf(stderr, "escucha: asleep until an event\n");
                    else std::fprintf(stderr, "escucha: asleep until an event or %.1f s from now\n", wait);
                }
                asleep_logged = true;
                if (wait < 0) glfwWaitEvents();
                else glfwWaitEventsTimeout(wait);
            }
            if (ui.Run() > 0) g_activity = true;
            const double now = glfwGetTime();
            if (const double press = touch.WakeAt(); press >= 0 && now >= press) g_activity = true;
            // Background work landing (a sync every few minutes) is not a
            // person: only input keeps the vault open.
            if (g_input) state.session.Input(now);
            g_input = false;
            const bool was_dirty = state.editing.Draft() && state.editing.Draft()->dirty;
            state.Tick(now);
            if (was_dirty) g_activity = true;

            float xscale = 1, yscale = 1;
            glfwGetWindowContentScale(window, &xscale, &yscale);
            const float scale = (state.settings.Get().ui_scale > 0 ? state.settings.Get().ui_scale : 1.0f) * xscale;
            if (scale != font_scale) {
                std::fprintf(stderr, "escucha: drawing at scale %.2f (screen %.2f)\n", scale, xscale);
                ApplyScale(scale);
                font_scale = scale;
                g_activity = true;
            }
            // Draw a few frames after anything happens (Dear ImGui settles
            // focus and layout over the next frames), then nothing at all.
            if (g_activity) frames_to_draw = 3;
            else if (live || animating) frames_to_draw = std::max(frames_to_draw, 1);
            g_activity = false;
            if (!options.render_every_frame) {
                if (frames_to_draw == 0) continue;
                --frames_to_draw;
            }

            const auto frame_start = std::chrono::steady_clock::now();
            g_renderer->new_frame();
            ImGui_ImplGlfw_NewFrame();
            touch.BeforeFrame(now);
            ImGui::NewFrame();
            asleep_logged = false;
            Frame f;
            f.now = now;
            f.scale = scale;
            f.graphics = graphics;
            f.narrow = ImGui::GetMainViewport()->WorkSize.x < 600.0f * xscale;
            if (f.narrow) {
                // Touch: controls at least 44 px tall (an 18 px font and 13 px above and below), more room between
                // them.
                ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(10.0f * scale, 13.0f * scale));
                ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(8.0f * scale, 10.0f * scale));
                ImGui::PushStyleVar(ImGuiStyleVar_ScrollbarSize, 22.0f * scale);
            }
            DrawFrame(state, f);
            if (f.narrow) ImGui::PopStyleVar(3);
            // Touch reads this frame's press or drag once every panel has drawn (and said what it holds).
            const float height = ImGui::GetIO().DisplaySize.y;
            touch.AfterFrame(now, last_height > 0 && height < last_height);
            last_height = height;
            // A field that takes the keyboard asks the phone's on-screen keyboard up; none, and it goes.
            keyboard.Update(ImGui::GetIO().WantTextInput);
            ImGui::Render();
            // Dear ImGui shows some changes a frame late (a form that appears
            // asks for the keyboard, which it gets on the next frame): until a
            // frame looks like the one before it, another one follows, so the
            // screen never sleeps half-settled and no key lands before its field.
            const std::size_t look = HashDrawData(ImGui::GetDrawData());
            if (look != last_look) frames_to_draw = std::max(frames_to_draw, 1);
            last_look = look;
            int fw, fh;
            glfwGetFramebufferSize(window, &fw, &fh);
            glViewport(0, 0, fw, fh);
            glClearColor(0.95f, 0.95f, 0.95f, 1);
            glClear(GL_COLOR_BUFFER_BIT);
            g_renderer->render(ImGui::GetDrawData());
            glfwSwapBuffers(window);
            ReleaseDeferredKeys(window);
            if (options.frame_log) std::fprintf(stderr, "escucha: frame %.3f ms\n", MillisSince(frame_start));
            if (!first_frame_shown) {
                first_frame_shown = true;
                std::fprintf(stderr, "escucha: first frame shown\n");
            }
            if (state.session.first_frame_after_unlock_pending && state.session.CurrentScreen() == Screen::Main) {
                state.session.first_frame_after_unlock_pending = false;
                lists_pending = true;
                std::fprintf(stderr, "escucha: first frame after unlock %.1f ms\n",
                             MillisSince(state.session.unlock_started));
            }
            if (lists_pending && state.session.CurrentScreen() == Screen::Main) {
                bool all = state.lists.ProjectsLoaded();
                for (const auto& type : RecordSections())
                    if (!HasRole(type, storage::RecordRole::Scope) && !state.lists.ProjectId().empty())
                        all = all && state.lists.List(type).loaded;
                if (all) {
                    lists_pending = false;
                    std::fprintf(stderr, "escucha: lists shown after unlock %.1f ms\n",
                                 MillisSince(state.session.unlock_started));
                }
            }
        }
        state.FlushBeforeExit();
        if (stop_waker.joinable()) {
            // Closing the write end ends the waker's read; it is gone before GLFW is.
            const int fd = g_stop_pipe[1];
            g_stop_pipe[1] = -1;
            close(fd);
            stop_waker.join();
            close(g_stop_pipe[0]);
        }
        if (g_stop_signal) std::fprintf(stderr, "escucha: stopped by a signal, everything saved\n");
    }
    g_renderer->shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return 0;
}

} // namespace escucha::gui

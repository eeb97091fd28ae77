// [SECTION] Window and loop
// [SECTION] Unlock screen
// [SECTION] Main screen
#include "app.h"

#include "app_state.h"

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui_stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace escucha::gui {

namespace {

/// Set by the window's callbacks on the UI thread; read by the loop.
bool g_activity = true;

std::filesystem::path VaultDir(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--vault") == 0) return argv[i + 1];
    if (const char* env = std::getenv("ESCUCHA_VAULT"); env && *env) return env;
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local/share/escucha/vault";
    return "escucha-vault";
}

void LoadFonts(float scale) {
    ImGuiIO& io = ImGui::GetIO();
    // Latin with every accent Spanish, French and Portuguese use, and more.
    static const ImWchar RANGES[] = {0x0020, 0x024F, 0x2000, 0x206F, 0x20AC, 0x20AC, 0};
    for (const char* path : {"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                             "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"}) {
        if (std::filesystem::exists(path)) {
            io.Fonts->AddFontFromFileTTF(path, 18.0f * scale, nullptr, RANGES);
            return;
        }
    }
    io.Fonts->AddFontDefault();
}

// [SECTION] Unlock screen

void DrawUnlock(AppState& s) {
    ImGui::TextWrapped("%s", s.vault_exists ? "Unlock your vault" : "Create your vault");
    if (!s.vault_exists)
        ImGui::TextWrapped("Everything you record is kept in it, encrypted. Choose a passphrase of 8 characters or "
                           "more and write it down somewhere safe: without it nobody can read the vault.");
    ImGui::Spacing();
    if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
    bool submit = ImGui::InputText("Passphrase", &s.passphrase,
                                   ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    if (!s.vault_exists) {
        if (submit) {
            ImGui::SetKeyboardFocusHere();
            submit = false;
        }
        submit |= ImGui::InputText("Once more", &s.passphrase_again,
                                   ImGuiInputTextFlags_Password | ImGuiInputTextFlags_EnterReturnsTrue);
    }
    ImGui::BeginDisabled(s.busy);
    submit |= ImGui::Button(s.vault_exists ? "Unlock" : "Create vault", ImVec2(-1, 0));
    ImGui::EndDisabled();
    if (submit) s.SubmitPassphrase();
    if (s.busy) ImGui::TextUnformatted("Opening…");
    if (!s.error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", s.error.c_str());
}

// [SECTION] Main screen

void DrawMain(AppState& s, double now, bool narrow) {
    ImGuiIO& io = ImGui::GetIO();
    if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_N)) s.NewNarrative();
    if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_F)) s.focus_search = true;
    if (ImGui::Button("New narrative (Ctrl+N)")) s.NewNarrative();
    ImGui::SameLine();
    if (ImGui::Button("Lock")) {
        s.Lock();
        return;
    }
    ImGui::SameLine();
    ImGui::TextDisabled("%s", s.status.c_str());
    if (!s.error.empty()) ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", s.error.c_str());

    if (s.draft) {
        ImGui::Separator();
        ImGui::PushID(s.draft->id.empty() ? "new" : s.draft->id.c_str());
        if (s.focus_title) {
            ImGui::SetKeyboardFocusHere();
            s.focus_title = false;
        }
        if (ImGui::InputText("Title", &s.draft->title)) s.Edited(now);
        // Enter in the title goes on to the text.
        const bool to_text = ImGui::IsItemDeactivated() && ImGui::IsKeyPressed(GLFW_KEY_ENTER);
        if (ImGui::IsItemDeactivated()) s.FocusLeft(now);
        if (to_text) ImGui::SetKeyboardFocusHere();
        const float height = narrow ? 200.0f : 260.0f;
        if (ImGui::InputTextMultiline("##text", &s.draft->text, ImVec2(-1, height))) s.Edited(now);
        if (ImGui::IsItemDeactivated()) s.FocusLeft(now);
        ImGui::PopID();
    }

    ImGui::Separator();
    if (s.focus_search) {
        ImGui::SetKeyboardFocusHere();
        s.focus_search = false;
    }
    if (ImGui::InputTextWithHint("##search", "Search all text (Ctrl+F), accents ignored", &s.query,
                                 ImGuiInputTextFlags_EnterReturnsTrue))
        s.Search();
    if (!s.hits.empty() || s.searches_done > 0) {
        ImGui::Text("%zu found", s.hits.size());
        ImGui::BeginChild("hits", ImVec2(0, 160), true);
        // Results can be many: draw only the visible rows.
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(s.hits.size()));
        while (clipper.Step())
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                const auto& h = s.hits[static_cast<size_t>(i)];
                ImGui::PushID(i);
                if (ImGui::Selectable(h.title.empty() ? h.type.c_str() : h.title.c_str())) s.OpenNarrative(h.id);
                ImGui::TextDisabled("%s", h.snippet.c_str());
                ImGui::PopID();
            }
        ImGui::EndChild();
    }

    ImGui::Separator();
    ImGui::Text("Narratives (%zu)", s.narratives.size());
    ImGui::BeginChild("narratives", ImVec2(0, 0), true);
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(s.narratives.size()));
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const auto& n = s.narratives[static_cast<size_t>(i)];
            const std::string id = n["id"];
            ImGui::PushID(id.c_str());
            if (ImGui::Selectable(n.value("title", std::string("(untitled)")).c_str(),
                                  s.draft && s.draft->id == id, 0, ImVec2(0, narrow ? 40.0f : 0)))
                s.OpenNarrative(id);
            ImGui::PopID();
        }
    ImGui::EndChild();
}

} // namespace

// [SECTION] Window and loop

int RunApp(int argc, char** argv) {
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!display || !*display) && (!wayland || !*wayland)) {
        std::fprintf(stderr,
                     "escucha: there is no display to open a window on (DISPLAY is not set).\n"
                     "Run it from a desktop session, or use the command line: escucha-cli help\n");
        return 2;
    }
    if (!glfwInit()) {
        std::fprintf(stderr, "escucha: the window system could not be started (DISPLAY=%s).\n"
                             "Use the command line meanwhile: escucha-cli help\n", display ? display : "");
        return 2;
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    int width = 1280, height = 800;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--size") == 0) std::sscanf(argv[i + 1], "%dx%d", &width, &height);
    GLFWwindow* window = glfwCreateWindow(width, height, "Escucha", nullptr, nullptr);
    if (!window) {
        std::fprintf(stderr, "escucha: no OpenGL 3 window could be opened on this display.\n");
        glfwTerminate();
        return 2;
    }
    glfwMakeContextCurrent(window);
    glfwSwapInterval(1);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr; // nothing written outside the vault
    float xscale = 1, yscale = 1;
    glfwGetWindowContentScale(window, &xscale, &yscale);
    LoadFonts(xscale);
    ImGui::StyleColorsLight();
    ImGui::GetStyle().ScaleAllSizes(xscale);
    // Our callbacks first: the ImGui backend chains to them. They only note
    // that something happened, so that an idle app draws nothing.
    glfwSetKeyCallback(window, [](GLFWwindow*, int, int, int, int) { g_activity = true; });
    glfwSetCharCallback(window, [](GLFWwindow*, unsigned int) { g_activity = true; });
    glfwSetMouseButtonCallback(window, [](GLFWwindow*, int, int, int) { g_activity = true; });
    glfwSetCursorPosCallback(window, [](GLFWwindow*, double, double) { g_activity = true; });
    glfwSetScrollCallback(window, [](GLFWwindow*, double, double) { g_activity = true; });
    glfwSetWindowFocusCallback(window, [](GLFWwindow*, int) { g_activity = true; });
    glfwSetWindowRefreshCallback(window, [](GLFWwindow*) { g_activity = true; });
    glfwSetFramebufferSizeCallback(window, [](GLFWwindow*, int, int) { g_activity = true; });
    ImGui_ImplGlfw_InitForOpenGL(window, true);
    ImGui_ImplOpenGL3_Init("#version 130");

    {
        UiQueue ui([] { glfwPostEmptyEvent(); });
        VaultWorker worker(ui);
        AppState state(worker, VaultDir(argc, argv));
        std::fprintf(stderr, "escucha: window open\n");
        bool first_frame_shown = false;
        int frames_to_draw = 3;
        while (!glfwWindowShouldClose(window)) {
            // Sleep until input or posted work; wake at least twice a second
            // for autosave. Idle costs next to nothing.
            glfwWaitEventsTimeout(0.5);
            if (ui.Run() > 0) g_activity = true;
            const double now = glfwGetTime();
            const bool was_dirty = state.draft && state.draft->dirty;
            state.Tick(now);
            if (was_dirty) g_activity = true;
            // Draw a few frames after anything happens (Dear ImGui settles
            // focus and layout over the next frames), then nothing at all.
            if (g_activity) frames_to_draw = 3;
            g_activity = false;
            if (frames_to_draw == 0) continue;
            --frames_to_draw;

            ImGui_ImplOpenGL3_NewFrame();
            ImGui_ImplGlfw_NewFrame();
            ImGui::NewFrame();
            const ImGuiViewport* vp = ImGui::GetMainViewport();
            ImGui::SetNextWindowPos(vp->WorkPos);
            ImGui::SetNextWindowSize(vp->WorkSize);
            ImGui::Begin("Escucha", nullptr,
                         ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings);
            const bool narrow = vp->WorkSize.x < 600;
            if (state.screen == Screen::Unlock) DrawUnlock(state);
            else DrawMain(state, now, narrow);
            ImGui::End();
            ImGui::Render();
            int fw, fh;
            glfwGetFramebufferSize(window, &fw, &fh);
            glViewport(0, 0, fw, fh);
            glClearColor(0.95f, 0.95f, 0.95f, 1);
            glClear(GL_COLOR_BUFFER_BIT);
            ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
            glfwSwapBuffers(window);
            if (!first_frame_shown) {
                first_frame_shown = true;
                std::fprintf(stderr, "escucha: first frame shown\n");
            }
        }
        state.FlushBeforeExit();
    }
    ImGui_ImplOpenGL3_Shutdown();
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
    glfwDestroyWindow(window);
    glfwTerminate();
    return 0;
}

} // namespace escucha::gui

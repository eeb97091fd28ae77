// The app's panels. Each draws one part of AppState and calls its commands;
// none runs SQL or waits (see app_state.h).
//
// Thread contract: UI thread only, between ImGui::NewFrame() and Render().
#pragma once

#include "widgets.h"

namespace escucha::gui {

void DrawUnlock(AppState& s, const Frame& f);        ///< panel_unlock.cpp
void DrawFirstProject(AppState& s, const Frame& f);  ///< panel_unlock.cpp
void DrawNavigation(AppState& s, const Frame& f);    ///< panel_navigation.cpp
void DrawTopBar(AppState& s, const Frame& f);        ///< panel_navigation.cpp
void DrawRecordList(AppState& s, const Frame& f);    ///< panel_records.cpp
void DrawRecordEditor(AppState& s, const Frame& f);  ///< panel_records.cpp
void DrawLinkedNarratives(AppState& s, const Frame& f); ///< panel_profile.cpp
void DrawSearch(AppState& s, const Frame& f);        ///< panel_search.cpp
void DrawSync(AppState& s, const Frame& f);          ///< panel_sync.cpp
void DrawSettings(AppState& s, const Frame& f);      ///< panel_settings.cpp

} // namespace escucha::gui

// The app's panels. Each draws one feature (see app_state.h) and calls its
// commands; none runs SQL or waits. The navigation and the top bar span
// features and draw from the owner.
//
// Thread contract: UI thread only, between ImGui::NewFrame() and Render().
#pragma once

#include "widgets.h"

namespace escucha::gui {

void DrawUnlock(SessionFeature& s, SettingsFeature& settings, const Frame& f); ///< panel_unlock.cpp
void DrawFirstProject(ListsFeature& l, AppState& app, const Frame& f);         ///< panel_unlock.cpp
void DrawNavigation(AppState& app, const Frame& f);                            ///< panel_navigation.cpp
void DrawTopBar(AppState& app, const Frame& f);                                ///< panel_navigation.cpp
void DrawRecordList(EditingFeature& e, const SyncFeature& sync, const std::string& type,
                    const Frame& f);                                        ///< panel_records.cpp
void DrawRecordEditor(EditingFeature& e, AudioFeature& a, CodingFeature& c, ActivitiesFeature& act,
                      SocialFeature& social, const Frame& f); ///< panel_records.cpp
void DrawLinkedNarratives(EditingFeature& e, const Frame& f);               ///< panel_profile.cpp
void DrawSearch(SearchFeature& s, const EditingFeature& e, const Frame& f); ///< panel_search.cpp
void DrawSync(SyncFeature& s, EditingFeature& e, const Frame& f);           ///< panel_sync.cpp
void DrawSettings(SettingsFeature& s, AppState& app, const Frame& f);       ///< panel_settings.cpp
/// The recordings of an interview or a consent, in its form: record, import, listen, copy out.
void DrawRecordings(AudioFeature& a, const RecordDraft& d, const Frame& f); ///< panel_audio.cpp
void DrawAudio(AudioFeature& a, const Frame& f);     ///< panel_audio.cpp: the recorder, or the player and transcript
void DrawRecovered(AudioFeature& a, const Frame& f); ///< panel_audio.cpp: recordings a crash cut short
/// Under a text that can be coded (`field`): code the selected passage; the passages coded.
void DrawCodingBox(CodingFeature& c, EditingFeature& e, RecordDraft& d, const std::string& field,
                   const Frame& f);                                                   ///< panel_coding.cpp
void DrawCodebook(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f); ///< panel_coding.cpp
void DrawResults(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f);  ///< panel_coding.cpp
/// A profile's quotes; a session's feedback; a round's ballots and result (panel_activities.cpp).
void DrawQuotes(ActivitiesFeature& a, EditingFeature& e, const RecordDraft& d, const Frame& f);
void DrawFeedback(ActivitiesFeature& a, EditingFeature& e, RecordDraft& d, const Frame& f);
void DrawRound(ActivitiesFeature& a, EditingFeature& e, RecordDraft& d, const Frame& f);
void DrawReportExport(ActivitiesFeature& a, const RecordDraft& d, const Frame& f);
/// Under an excerpt: make it a quote of a profile (panel_activities.cpp).
void DrawQuoteIn(ActivitiesFeature& a, const EditingFeature& e, const std::string& coding_id, const Frame& f);
/// A chat export brought in (panel_social.cpp): the button above the items' list, and the import screen.
void DrawSocialImportButton(SocialFeature& s, const Frame& f);
void DrawSocialImport(SocialFeature& s, const Frame& f);
/// The pictures of a social-media item open in the form, each shown on request.
void DrawItemPictures(SocialFeature& s, const RecordDraft& d, const Frame& f);
/// The excerpts of the code (or matrix cell) chosen.
void DrawExcerpts(CodingFeature& c, EditingFeature& e, AppState& app, const Frame& f); ///< panel_coding.cpp

} // namespace escucha::gui

// Search over every text in the vault, accents ignored. Ranks for all matches
// arrive at once; titles and snippets are read in chunks as rows come into
// view. Opening a hit asks editing to open the record with the words marked.
// The search panel draws from it.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"
#include "feature_editing.h"

#include "escucha/storage/records.h"

#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace escucha::gui {

struct SearchState {
    std::string shown_query;                             ///< the query the results are for
    std::vector<storage::SearchRank> ranks;              ///< every match, best first
    std::unordered_map<size_t, storage::SearchHit> hits; ///< title and snippet of those read so far
    std::set<size_t> chunks_asked;                       ///< chunks of CHUNK results asked for
    int generation = 0;                                  ///< raised by every search; older answers are dropped
    bool searching = false;
    int done = 0;
    static constexpr size_t CHUNK = 64;
    static constexpr int64_t MAX_RESULTS = 100000;
};

class SearchFeature {
public:
    SearchFeature(AppContext& ctx, EditingFeature& editing) : m_ctx(ctx), m_editing(editing) {}

    [[nodiscard]] const SearchState& View() const { return m_state; }
    std::string& Query() { return m_query; } ///< the search field
    /// Give the search field the keyboard now (true once after it was asked for).
    [[nodiscard]] bool TakeFocus();
    void RequestFocus() { m_focus = true; }

    void Search();
    /// The results [first, last) are on screen: read titles and snippets not read yet.
    void NeedHits(size_t first, size_t last);
    void OpenHit(size_t index);
    /// Set by the owner: opens a recording, or a transcript segment at its moment in its recording.
    std::function<void(const std::string&, std::vector<std::string>)> open_in_recording;
    void Clear(); ///< at lock

private:
    AppContext& m_ctx;
    EditingFeature& m_editing;
    std::string m_query;
    SearchState m_state;
    bool m_focus = false;
};

} // namespace escucha::gui

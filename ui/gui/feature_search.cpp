#include "feature_search.h"

#include "escucha/capture/access.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

bool SearchFeature::TakeFocus() {
    const bool focus = m_focus;
    m_focus = false;
    return focus;
}

void SearchFeature::Clear() {
    m_query.clear();
    m_state = SearchState{};
}

void SearchFeature::Search() {
    const std::string q = m_query;
    if (q.find_first_not_of(" \t") == std::string::npos) return;
    const int generation = ++m_state.generation, session = m_ctx.session;
    m_state.searching = true;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, q, generation, session](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            auto ranks = vault->Records().RankSearch(q, SearchState::MAX_RESULTS);
            ui.Post([this, q, generation, session, ranks = std::move(ranks)]() mutable {
                if (session != m_ctx.session || generation != m_state.generation) return;
                m_state.searching = false;
                m_state.shown_query = q;
                m_state.ranks = std::move(ranks);
                m_state.hits.clear();
                m_state.chunks_asked.clear();
                ++m_state.done;
                m_ctx.error.clear();
                std::fprintf(stderr, "escucha: search found %zu\n", m_state.ranks.size());
            });
        },
        [this, generation, session](std::string what) {
            if (session != m_ctx.session || generation != m_state.generation) return;
            m_state.searching = false;
            m_ctx.error = what;
        });
}

void SearchFeature::NeedHits(size_t first, size_t last) {
    last = std::min(last, m_state.ranks.size());
    if (first >= last) return;
    const int generation = m_state.generation, session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    for (size_t chunk = first / SearchState::CHUNK; chunk * SearchState::CHUNK < last; ++chunk) {
        if (!m_state.chunks_asked.insert(chunk).second) continue;
        const size_t begin = chunk * SearchState::CHUNK;
        const size_t end = std::min(begin + SearchState::CHUNK, m_state.ranks.size());
        std::vector<storage::SearchRank> ranks(m_state.ranks.begin() + static_cast<std::ptrdiff_t>(begin),
                                               m_state.ranks.begin() + static_cast<std::ptrdiff_t>(end));
        m_ctx.worker.Post([this, &ui, generation, session, begin, q = m_state.shown_query,
                           ranks = std::move(ranks)](std::optional<storage::Vault>& vault) {
            if (!vault) return;
            // One by one, so that a match whose record went away meanwhile
            // keeps its place (shown as gone) instead of shifting the rest.
            std::vector<storage::SearchHit> details;
            for (const auto& rank : ranks) {
                auto one = vault->Records().SearchDetails(q, {rank}, "\x01", "\x02");
                details.push_back(one.empty() ? storage::SearchHit{} : std::move(one.front()));
            }
            ui.Post([this, generation, session, begin, details = std::move(details)]() mutable {
                if (session != m_ctx.session || generation != m_state.generation) return;
                for (size_t i = 0; i < details.size(); ++i) m_state.hits[begin + i] = std::move(details[i]);
            });
        });
    }
}

void SearchFeature::OpenHit(size_t index) {
    const auto it = m_state.hits.find(index);
    if (it == m_state.hits.end()) return;
    const auto& hit = it->second;
    if (hit.id.empty() || !capture::ShownByDefault(TypeNamed(hit.type))) return; // gone since the search
    const std::string id = hit.id;
    if ((hit.type == "transcript_segment" || hit.type == "recording") && open_in_recording)
        return open_in_recording(id, QueryTerms(m_state.shown_query));
    m_editing.OpenFound(id, QueryTerms(m_state.shown_query));
}

} // namespace escucha::gui

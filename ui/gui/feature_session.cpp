#include "feature_session.h"

#include "i18n.h"
#include "summaries.h"

#include "escucha/interpret/interpretation_records.h"

#include <algorithm>
#include <cstdio>

namespace escucha::gui {

SessionFeature::SessionFeature(AppContext& ctx, std::filesystem::path vault_dir)
    : m_ctx(ctx), m_dir(std::move(vault_dir)), m_vault_exists(storage::Vault::Exists(m_dir)) {
    m_form.author_name = DefaultAuthorName();
}

bool SessionFeature::TakeFocus() {
    const bool focus = m_ctx.focus_first_field;
    m_ctx.focus_first_field = false;
    return focus;
}

void SessionFeature::Input(double now) { m_ctx.last_input = now; }

std::string SessionFeature::LockDue(double now, int lock_after_minutes) const {
    if (lock_after_minutes <= 0 || now - m_ctx.last_input < lock_after_minutes * 60.0) return {};
    char reason[160];
    std::snprintf(reason, sizeof reason, Tr("Locked after %d minutes without use."), lock_after_minutes);
    return reason;
}

void SessionFeature::Locked(const std::string& reason) {
    m_screen = Screen::Unlock;
    m_locked_reason = reason;
    m_ctx.focus_first_field = true;
}

void SessionFeature::SubmitPassphrase(double now) {
    if (m_busy) return;
    m_ctx.error.clear();
    m_locked_reason.clear();
    if (!m_vault_exists && m_form.passphrase != m_form.passphrase_again) {
        m_ctx.error = Tr("The two passphrases differ.");
        m_ctx.focus_first_field = true; // typing again starts in the first field
        return;
    }
    std::string author = m_form.author_name;
    author.erase(0, std::min(author.size(), author.find_first_not_of(" \t")));
    while (!author.empty() && (author.back() == ' ' || author.back() == '\t')) author.pop_back();
    if (!m_vault_exists && author.empty()) {
        m_ctx.error = Tr("Write your name: it is kept with everything you record.");
        return;
    }
    m_busy = true;
    m_ctx.last_input = now;
    unlock_started = std::chrono::steady_clock::now();
    auto secret = std::make_shared<storage::Passphrase>(m_form.passphrase);
    storage::WipeMemory(m_form.passphrase.data(), m_form.passphrase.size());
    storage::WipeMemory(m_form.passphrase_again.data(), m_form.passphrase_again.size());
    m_form.passphrase.clear();
    m_form.passphrase_again.clear();
    const bool create = !m_vault_exists;
    const int session = m_ctx.session;
    UiQueue& ui = m_ctx.Ui();
    m_ctx.worker.Post(
        [this, &ui, secret, create, session, author, dir = m_dir](std::optional<storage::Vault>& vault) {
            if (create) {
                vault.emplace(storage::Vault::Create(dir, *secret, interpret::AllRecordTypes(), {author}));
            } else {
                vault.emplace(storage::Vault::Open(dir, *secret, interpret::AllRecordTypes()));
            }
            // The sync thread's own connection, with the key derived once.
            auto second = std::make_shared<storage::Vault>(vault->OpenAnother());
            ui.Post([this, session, second] {
                if (session != m_ctx.session) return;
                m_busy = false;
                m_vault_exists = true;
                m_screen = Screen::Main;
                first_frame_after_unlock_pending = true;
                m_ctx.focus_first_field = true;
                std::fprintf(stderr, "escucha: vault unlocked\n");
                if (on_unlocked) on_unlocked(second);
            });
        },
        [this, session](std::string what) {
            if (session != m_ctx.session) return;
            m_busy = false;
            m_ctx.error = what;
            // Enter took the keyboard from the field: give it back, to type again.
            m_ctx.focus_first_field = true;
            std::fprintf(stderr, "escucha: unlock refused\n");
        });
}

} // namespace escucha::gui

// The session: create or unlock the vault, the passphrase fields (wiped once
// used), locking by hand or after minutes without use, and why the vault was
// locked. The unlock screen draws from it; the owner (app_state.h) clears
// every feature at a lock.
//
// Thread contract: UI thread only.
#pragma once

#include "app_context.h"

#include "escucha/storage/vault.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace escucha::gui {

enum class Screen { Unlock, Main };

/// The unlock screen's fields.
struct UnlockForm {
    std::string passphrase;       ///< cleared after use
    std::string passphrase_again; ///< when creating
    std::string author_name;      ///< when creating: who this device writes as (prefilled)
};

class SessionFeature {
public:
    SessionFeature(AppContext& ctx, std::filesystem::path vault_dir);

    [[nodiscard]] Screen CurrentScreen() const { return m_screen; }
    [[nodiscard]] bool VaultExists() const { return m_vault_exists; }
    [[nodiscard]] bool Busy() const { return m_busy; } ///< unlocking or creating
    [[nodiscard]] const std::string& LockedReason() const {
        return m_locked_reason;
    } ///< e.g. "Locked after 5 minutes without use"
    [[nodiscard]] const std::string& Error() const { return m_ctx.error; }
    UnlockForm& Form() { return m_form; }
    /// Give the first field the keyboard now (true once after it was asked for).
    [[nodiscard]] bool TakeFocus();

    void SubmitPassphrase(double now);
    void Input(double now); ///< a person did something (for auto-lock)
    /// Why the vault is to lock now (after `lock_after_minutes` without use), or empty.
    [[nodiscard]] std::string LockDue(double now, int lock_after_minutes) const;
    /// After every feature was cleared at a lock: back to the unlock screen, saying why.
    void Locked(const std::string& reason);

    /// Unlocked: the sync thread's own connection (the key derived once). Wired by the owner.
    std::function<void(std::shared_ptr<storage::Vault>)> on_unlocked;

    /// Milliseconds from the passphrase's submission to the unlock (for the benchmark log).
    std::chrono::steady_clock::time_point unlock_started;
    bool first_frame_after_unlock_pending = false;

private:
    AppContext& m_ctx;
    std::filesystem::path m_dir;
    Screen m_screen = Screen::Unlock;
    bool m_vault_exists = false;
    bool m_busy = false;
    std::string m_locked_reason;
    UnlockForm m_form;
};

} // namespace escucha::gui

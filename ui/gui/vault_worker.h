// The vault's own thread: every storage call of the app runs here, never on
// the UI thread. Results come back as closures posted to the UI queue.
//
// Thread contract: Post() and Drain() may be called from any thread; jobs run
// one at a time on the worker thread, which alone touches the Vault.
#pragma once

#include "escucha/storage/vault.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace escucha::gui {

/// Closures for the UI thread, run once per frame.
class UiQueue {
public:
    explicit UiQueue(std::function<void()> wake = {}) : m_wake(std::move(wake)) {}
    void Post(std::function<void()> task);
    /// Runs what was posted; returns how many ran.
    int Run();

private:
    std::mutex m_mutex;
    std::vector<std::function<void()>> m_tasks;
    std::function<void()> m_wake;
};

class VaultWorker {
public:
    using Job = std::function<void(std::optional<storage::Vault>& vault)>;
    /// `name` names the thread (seen in debuggers and `top -H`).
    explicit VaultWorker(UiQueue& ui, std::string name = "escucha-vault");
    ~VaultWorker();
    VaultWorker(const VaultWorker&) = delete;
    VaultWorker& operator=(const VaultWorker&) = delete;

    /// Queues a job; exceptions it throws reach `on_error` on the UI thread.
    void Post(Job job, std::function<void(std::string)> on_error = {});
    /// Blocks until every job queued so far has run (used when closing).
    void Flush();
    [[nodiscard]] UiQueue& Ui() { return m_ui; }

private:
    void Loop();
    UiQueue& m_ui;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<std::pair<Job, std::function<void(std::string)>>> m_jobs;
    bool m_stop = false;
    int m_running = 0;
    std::optional<storage::Vault> m_vault;
    std::string m_name;
    std::thread m_thread;
};

} // namespace escucha::gui

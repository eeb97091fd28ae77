#include "vault_worker.h"

#include "error_words.h"

#include "escucha/capture/audio.h"
#include "escucha/storage/vault.h"

#include <pthread.h>

namespace escucha::gui {

void UiQueue::Post(std::function<void()> task) {
    {
        std::lock_guard lock(m_mutex);
        m_tasks.push_back(std::move(task));
    }
    if (m_wake) m_wake();
}

int UiQueue::Run() {
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard lock(m_mutex);
        tasks.swap(m_tasks);
    }
    for (auto& t : tasks) t();
    return static_cast<int>(tasks.size());
}

VaultWorker::VaultWorker(UiQueue& ui, std::string name)
    : m_ui(ui), m_name(std::move(name)), m_thread([this] { Loop(); }) {}

VaultWorker::~VaultWorker() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

void VaultWorker::Post(Job job, std::function<void(std::string)> on_error) {
    {
        std::lock_guard lock(m_mutex);
        m_jobs.emplace_back(std::move(job), std::move(on_error));
    }
    m_cv.notify_all();
}

void VaultWorker::Flush() {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return m_jobs.empty() && m_running == 0; });
}

void VaultWorker::Loop() {
    pthread_setname_np(pthread_self(), m_name.substr(0, 15).c_str());
    while (true) {
        std::pair<Job, std::function<void(std::string)>> item;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait(lock, [this] { return m_stop || !m_jobs.empty(); });
            if (m_jobs.empty()) return;
            item = std::move(m_jobs.front());
            m_jobs.pop_front();
            ++m_running;
        }
        try {
            item.first(m_vault);
        } catch (const storage::RecordError& e) {
            // Exceptions never cross the thread: they become state on the UI
            // side, worded there (in the chosen language) from their code.
            if (item.second)
                m_ui.Post([cb = item.second, code = e.Code(), params = e.Params()] { cb(WordError(code, params)); });
        } catch (const storage::VaultError& e) {
            if (item.second)
                m_ui.Post([cb = item.second, code = e.Code(), params = e.Params()] { cb(WordError(code, params)); });
        } catch (const capture::AudioError& e) {
            if (item.second)
                m_ui.Post([cb = item.second, code = e.Code(), params = e.Params()] { cb(WordError(code, params)); });
        } catch (const std::exception& e) {
            if (item.second) m_ui.Post([cb = item.second, what = std::string(e.what())] { cb(what); });
        }
        {
            std::lock_guard lock(m_mutex);
            --m_running;
        }
        m_cv.notify_all();
    }
}

} // namespace escucha::gui

#include "error_words.h"

#include "labels.h"

namespace escucha::gui {

std::string WordError(const std::string& code, const Json& params) {
    static const words::ParamNames labels = {
        [](const std::string& field) { return std::string(FieldLabel(field)); },
        [](const std::string& type) { return std::string(TypeLabel(type)); },
    };
    return words::WordError(code, params, labels);
}

} // namespace escucha::gui

// A small catalogue of made-up types, so storage tests need no other module.
#pragma once

#include "escucha/storage/records.h"

namespace escucha::test {

inline storage::Catalogue TestCatalogue() {
    using storage::FieldKind;
    storage::Catalogue c;
    c.Add({"project",
           "A project.",
           "test",
           {{"name", FieldKind::Text, "Name.", true, true, {}, {}, nullptr},
            {"share_identities", FieldKind::Boolean, "Share.", false, false, {}, {}, false}},
           "name",
           false,
           true,
           {},
           nullptr,
           nullptr});
    c.Add({"person",
           "A person.",
           "test",
           {{"pseudonym", FieldKind::Text, "Pseudonym.", true, true, {}, {}, nullptr},
            {"age", FieldKind::Integer, "Age.", false, false, {}, {}, nullptr},
            {"band", FieldKind::Choice, "Band.", false, false, {"young", "old"}, {}, nullptr},
            {"groups", FieldKind::TextList, "Groups.", false, true, {}, {}, nullptr},
            {"referred_by", FieldKind::Reference, "Referrer.", false, false, {}, "person", nullptr}},
           "pseudonym",
           true,
           true,
           {},
           nullptr,
           nullptr});
    c.Add({"secret",
           "Kept on the device.",
           "test",
           {{"person_id", FieldKind::Reference, "Whose.", true, false, {}, "person", nullptr},
            {"real_name", FieldKind::Text, "Name.", true, false, {}, {}, nullptr}},
           "",
           true,
           false,
           "share_identities",
           nullptr,
           nullptr});
    c.Add({"story",
           "A story.",
           "test",
           {{"title", FieldKind::Text, "Title.", true, true, {}, {}, nullptr},
            {"text", FieldKind::LongText, "Text.", true, true, {}, {}, nullptr},
            {"tellers", FieldKind::ReferenceList, "Tellers.", false, false, {}, "person", nullptr},
            {"told_on", FieldKind::Date, "Date.", false, false, {}, {}, nullptr},
            {"status", FieldKind::Choice, "Status.", false, false, {"draft", "done"}, {}, "draft"}},
           "title",
           true,
           true,
           {},
           nullptr,
           nullptr});
    return c;
}

} // namespace escucha::test

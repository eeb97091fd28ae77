#!/usr/bin/env bash
# Collects Escucha's words (Tr("…") and N_("…") in ui/words, ui/gui and ui/cli, and the reports' W(o, "…") in
# interpret/src/report.cpp) into
# escucha.pot and merges them into each language's .po file, so translators
# see what is new or changed (marked fuzzy). Needs gettext (xgettext, msgmerge).
set -euo pipefail
cd "$(dirname "$0")"
xgettext --language=C++ --from-code=UTF-8 --keyword=Tr --keyword=N_ --no-location --sort-output \
  --keyword=W:2 --package-name=escucha --output=escucha.pot ../*.cpp ../../gui/*.cpp ../../cli/*.cpp \
  ../../../interpret/src/report.cpp
for po in *.po; do
  msgmerge --quiet --no-fuzzy-matching --update --backup=none --no-location --sort-output "$po" escucha.pot
  msgattrib --no-obsolete --output-file="$po" "$po"
done
echo "Updated escucha.pot and: $(ls *.po | tr '\n' ' ')"

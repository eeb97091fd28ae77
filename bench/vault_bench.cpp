// Vault benchmark: the vault keyed with SQLCipher against the same SQLCipher
// library left unkeyed (plain SQLite), side by side, through the project's own
// storage code path (Database, Transaction, RecordStore, the capture catalogue).
//
//   (a) autosave: RecordStore::Update of one field note's text, each call its
//       own committed transaction, as the editor's autosave does;
//   (b) bulk import: RecordStore::Import of one JSON array (a project and
//       field notes, participants and narratives) in one transaction, twice
//       per mode into fresh vaults, in the order plain, keyed, keyed, plain;
//   (c) full-text search: RecordStore::Search over long narratives;
//   (d) fifty edits of one 20 KB narrative before a sync: the changes left
//       waiting, the vault's growth and the copies of the text it holds.
// Then the table of issue 14: the import against a bare keyed floor (the
// same rows written with prepared INSERTs, no validation, no journal), the
// pages an autosave writes and which tables and indexes they belong to
// (the frames of the write-ahead log of the plain vault, mapped to b-trees
// by reading its file), copies of each text, and the vault's size after
// the import against the JSON an export writes.
//
// Keyed connections are set up as storage/src/vault.cpp sets up a vault's
// connection: sqlite3_key with x'<key hex><salt hex>', PRAGMA cipher_page_size
// = 4096, then busy_timeout, temp_store = MEMORY, journal_mode = WAL,
// journal_size_limit, synchronous = FULL, secure_delete = ON and the search
// functions. Plain connections get the same
// settings with no key (page_size = 4096 in place of cipher_page_size). The key
// is random for each run; no key derivation happens anywhere in this program.
//
// Only the operation under test is timed: building the JSON, opening the
// vaults, creating the schema and filling the search corpus are not.
// For (a) and (c) the two vaults take turns call by call (keyed first on even
// calls, plain first on odd ones) so that drift in disk or CPU speed during the
// run falls on both alike.
//
// Everything is written under one fresh directory in /tmp, removed at the end.

#include "escucha/capture/listening_records.h"
#include "escucha/storage/clock.h"
#include "escucha/storage/kdf.h"
#include "escucha/storage/records.h"
#include "escucha/storage/secret.h"
#include "escucha/storage/sqlite.h"

#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace storage = escucha::storage;
using storage::Json;

// [SECTION] Options

struct Options {
    size_t records = 100000; ///< records imported in (b); narratives searched in (c)
    size_t commits = 2000;   ///< autosave commits in (a)
    size_t queries = 200;    ///< search queries in (c)
    uint64_t seed = 20240611;
    /// One more keyed import, each SQL statement's time summed (SQLite's profile trace).
    bool statements = false;
};

void PrintUsage(const char* program) {
    std::printf("usage: %s [--scale F] [--records N] [--commits N] [--queries N] [--seed N]\n"
                "  --scale F    multiply the default sizes (100000 records, 2000 commits,\n"
                "               200 queries) by F; e.g. --scale 0.02 for a quick check\n"
                "  --records N  records imported in (b) and narratives searched in (c)\n"
                "  --commits N  autosave commits in (a)\n"
                "  --queries N  search queries in (c)\n"
                "  --seed N     seed of the generated text and queries\n"
                "  --statements one more keyed import, with the time of each SQL statement\n",
                program);
}

std::optional<Options> ParseOptions(int argc, char** argv) {
    Options options;
    double scale = 1.0;
    std::optional<size_t> records;
    std::optional<size_t> commits;
    std::optional<size_t> queries;
    const auto number = [&](int& i, const char* name) -> double {
        if (i + 1 >= argc) throw std::runtime_error(std::string(name) + " needs a value");
        char* end = nullptr;
        const char* text = argv[++i];
        const double value = std::strtod(text, &end);
        if (end == text || *end != '\0' || !(value > 0))
            throw std::runtime_error(std::string(name) + " needs a positive number, not '" + text + "'");
        return value;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            PrintUsage(argv[0]);
            return std::nullopt;
        }
        if (arg == "--scale") scale = number(i, "--scale");
        else if (arg == "--records") records = static_cast<size_t>(number(i, "--records"));
        else if (arg == "--commits") commits = static_cast<size_t>(number(i, "--commits"));
        else if (arg == "--queries") queries = static_cast<size_t>(number(i, "--queries"));
        else if (arg == "--seed") options.seed = static_cast<uint64_t>(number(i, "--seed"));
        else if (arg == "--statements") options.statements = true;
        else throw std::runtime_error("unknown option '" + std::string(arg) + "' (see --help)");
    }
    const auto scaled = [&](size_t base, size_t least) {
        return std::max(least, static_cast<size_t>(std::llround(static_cast<double>(base) * scale)));
    };
    options.records = records.value_or(scaled(options.records, 10));
    options.commits = commits.value_or(scaled(options.commits, 2));
    options.queries = queries.value_or(scaled(options.queries, 2));
    options.records = std::max<size_t>(options.records, 10);
    return options;
}

// [SECTION] Deterministic random choices

class Random {
public:
    explicit Random(uint64_t seed) : m_engine(seed) {}
    size_t Below(size_t n) { return static_cast<size_t>(m_engine() % n); }
    size_t Between(size_t low, size_t high) { return low + Below(high - low + 1); }
    double Unit() { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53; }
    bool Chance(double p) { return Unit() < p; }
    template <typename T>
    const T& Pick(const std::vector<T>& items) {
        return items[Below(items.size())];
    }
    /// Fisher-Yates with this generator, so the order is the same everywhere.
    template <typename T>
    void Shuffle(std::vector<T>& items) {
        for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[Below(i)]);
    }

private:
    std::mt19937_64 m_engine;
};

/// Words drawn with Zipf weights: the word at rank r has weight 1 / (r + 1)^s.
class ZipfWords {
public:
    ZipfWords(std::vector<std::string> words, double exponent) : m_words(std::move(words)) {
        double total = 0;
        m_cumulative.reserve(m_words.size());
        for (size_t r = 0; r < m_words.size(); ++r) {
            total += 1.0 / std::pow(static_cast<double>(r + 1), exponent);
            m_cumulative.push_back(total);
        }
    }
    const std::string& Draw(Random& random) const {
        const double x = random.Unit() * m_cumulative.back();
        const auto it = std::upper_bound(m_cumulative.begin(), m_cumulative.end(), x);
        return m_words[std::min(static_cast<size_t>(it - m_cumulative.begin()), m_words.size() - 1)];
    }
    [[nodiscard]] const std::vector<std::string>& Words() const noexcept { return m_words; }

private:
    std::vector<std::string> m_words;
    std::vector<double> m_cumulative;
};

// [SECTION] Vocabulary: Spanish and French field-research words

using WordList = std::vector<std::string_view>;

const WordList SPANISH_FUNCTION = {
    "de",      "la",    "que",    "el",       "en",    "y",      "a",        "los",    "se",        "del",
    "las",     "un",    "por",    "con",      "no",    "una",    "su",       "para",   "es",        "al",
    "lo",      "como",  "más",    "pero",     "sus",   "le",     "ya",       "o",      "fue",       "este",
    "ha",      "sí",    "porque", "esta",     "entre", "cuando", "muy",      "sin",    "sobre",     "también",
    "me",      "hasta", "hay",    "donde",    "nos",   "todo",   "nosotros", "ellos",  "allá",      "después",
    "antes",   "ahí",   "así",    "entonces", "había", "era",    "éramos",   "estaba", "estábamos", "aquí",
    "todavía", "según", "aún",    "qué",      "cómo",  "él",     "mí",       "tú",
};

const WordList SPANISH_NOUNS = {
    "trabajo",        "tierra",     "cosecha",     "semilla",   "mercado",    "precio",
    "café",           "cacao",      "maíz",        "arroz",     "frijol",     "papa",
    "yuca",           "plátano",    "caña",        "río",       "montaña",    "vereda",
    "pueblo",         "ciudad",     "barrio",      "camino",    "carretera",  "escuela",
    "hospital",       "iglesia",    "cooperativa", "sindicato", "asociación", "comunidad",
    "familia",        "madre",      "padre",       "hija",      "hijo",       "abuela",
    "abuelo",         "vecino",     "vecina",      "niño",      "niña",       "joven",
    "mujer",          "patrón",     "finca",       "parcela",   "hectárea",   "lluvia",
    "sequía",         "inundación", "cultivo",     "ganado",    "vaca",       "gallina",
    "cerdo",          "pescador",   "pesca",       "lancha",    "red",        "mar",
    "playa",          "bosque",     "árbol",       "agua",      "luz",        "salud",
    "enfermedad",     "medicina",   "comida",      "hambre",    "deuda",      "crédito",
    "banco",          "préstamo",   "salario",     "jornal",    "jornada",    "contrato",
    "dueño",          "empresa",    "fábrica",     "mina",      "minería",    "petróleo",
    "violencia",      "conflicto",  "guerra",      "paz",       "miedo",      "esperanza",
    "sueño",          "recuerdo",   "historia",    "memoria",   "tradición",  "fiesta",
    "música",         "canción",    "lengua",      "idioma",    "migración",  "frontera",
    "viaje",          "autobús",    "camión",      "teléfono",  "radio",      "noticia",
    "gobierno",       "alcalde",    "líder",       "reunión",   "asamblea",   "organización",
    "derecho",        "ley",        "justicia",    "tribunal",  "policía",    "ejército",
    "desplazamiento", "retorno",    "territorio",  "resguardo", "cabildo",    "mercancía",
    "intermediario",  "jornalero",  "empleada",    "casa",      "cocina",     "patio",
    "huerta",         "invierno",   "verano",      "mañana",    "tarde",      "noche",
    "semana",         "mes",        "año",         "día",       "vida",       "muerte",
    "cuerpo",         "mano",       "corazón",     "palabra",   "voz",        "silencio",
    "problema",       "solución",   "ayuda",       "proyecto",  "programa",   "subsidio",
    "escasez",        "cambio",     "clima",       "temporada", "plaga",      "fertilizante",
    "abono",          "almacén",    "tienda",      "compañía",  "pequeñez",   "cuñado",
    "compadre",       "comadre",
};

const WordList SPANISH_AR_STEMS = {
    "trabaj", "cosech", "sembr",   "pesc",    "migr",    "cambi",  "pag",     "compr", "llev",  "lleg",
    "cuid",   "habl",   "escuch",  "esper",   "pens",    "record", "organiz", "luch",  "ayud",  "explic",
    "cont",   "busc",   "encontr", "llam",    "mand",    "quit",   "gan",     "gast",  "prest", "ahorr",
    "cultiv", "regres", "retorn",  "camin",   "viaj",    "cocin",  "lav",     "limpi", "cant",  "bail",
    "rez",    "estudi", "enseñ",   "apoy",    "denunci", "reclam", "negoci",  "acord", "firm",  "desplaz",
    "amenaz", "salv",   "carg",    "descans", "termin",  "mont",   "inund",   "regal", "tom",   "dej",
};
const WordList SPANISH_AR_ENDINGS = {
    "ar", "o", "a", "amos", "an", "aba", "ábamos", "aban", "é", "ó", "aron", "ando", "ado", "ará",
};

const WordList SPANISH_ER_STEMS = {
    "vend",    "viv",   "com",  "beb",    "aprend",  "corr", "recib", "escrib", "sufr",  "decid", "sub", "cumpl",
    "compart", "exist", "part", "resist", "respond", "romp", "barr",  "mov",    "conoc", "cos",   "tem", "abr",
};
const WordList SPANISH_ER_ENDINGS = {
    "o", "e", "emos", "en", "ía", "íamos", "ían", "í", "ió", "ieron", "iendo", "ido",
};

const WordList SPANISH_ADJ_STEMS = {
    "pequeñ",   "buen",   "nuev",      "viej",   "car",     "barat", "dur",   "lent",     "rápid",
    "sec",      "húmed",  "frí",       "oscur",  "clar",    "sol",   "junt",  "tranquil", "peligros",
    "orgullos", "cansad", "preocupad", "enojad", "content", "propi", "ajen",  "antigu",   "modern",
    "ric",      "negr",   "blanc",     "roj",    "ciert",   "fals",  "urban", "lejan",
};
const WordList SPANISH_ADJ_ENDINGS = {"o", "a", "os", "as"};
const WordList SPANISH_INVARIABLE = {
    "difícil", "fácil",   "grande",   "pobre",     "triste",
    "alegre",  "fuerte",  "verde",    "común",     "útil",
    "igual",   "local",   "rural",    "caliente",  "dulce",
    "amable",  "injusto", "indígena", "campesino", "afrodescendiente",
};

const WordList FRENCH_FUNCTION = {
    "de",       "la",    "le",     "et",    "les",  "des",   "en",   "un",    "du",        "une",   "que",
    "est",      "pour",  "qui",    "dans",  "à",    "par",   "plus", "pas",   "au",        "sur",   "ne",
    "se",       "ce",    "il",     "elle",  "nous", "ils",   "on",   "avec",  "mais",      "comme", "où",
    "été",      "était", "étions", "avait", "très", "aussi", "déjà", "après", "avant",     "là",    "alors",
    "toujours", "ça",    "leur",   "notre", "nos",  "ses",   "y",    "même",  "peut-être", "chez",  "quand",
};

const WordList FRENCH_NOUNS = {
    "travail",    "terre",        "récolte",       "graine",      "marché",     "prix",         "café",
    "cacao",      "maïs",         "riz",           "haricot",     "manioc",     "banane",       "canne",
    "rivière",    "montagne",     "village",       "ville",       "quartier",   "chemin",       "route",
    "école",      "hôpital",      "église",        "coopérative", "syndicat",   "association",  "communauté",
    "famille",    "mère",         "père",          "fille",       "fils",       "voisin",       "voisine",
    "enfant",     "jeune",        "femme",         "homme",       "patron",     "ferme",        "parcelle",
    "pluie",      "sécheresse",   "inondation",    "culture",     "bétail",     "vache",        "poule",
    "cochon",     "pêcheur",      "pêche",         "bateau",      "filet",      "mer",          "plage",
    "forêt",      "arbre",        "eau",           "lumière",     "santé",      "maladie",      "médicament",
    "nourriture", "faim",         "dette",         "crédit",      "banque",     "prêt",         "salaire",
    "journée",    "contrat",      "propriétaire",  "entreprise",  "usine",      "mine",         "pétrole",
    "violence",   "conflit",      "guerre",        "paix",        "peur",       "espoir",       "rêve",
    "souvenir",   "histoire",     "mémoire",       "tradition",   "fête",       "musique",      "chanson",
    "langue",     "migration",    "frontière",     "voyage",      "camion",     "téléphone",    "radio",
    "nouvelle",   "gouvernement", "maire",         "réunion",     "assemblée",  "organisation", "droit",
    "loi",        "justice",      "tribunal",      "police",      "armée",      "déplacement",  "retour",
    "territoire", "marchandise",  "intermédiaire", "ouvrier",     "ouvrière",   "maison",       "cuisine",
    "jardin",     "hiver",        "été",           "matin",       "soir",       "nuit",         "semaine",
    "mois",       "année",        "jour",          "vie",         "mort",       "corps",        "main",
    "cœur",       "parole",       "voix",          "silence",     "problème",   "solution",     "aide",
    "projet",     "programme",    "subvention",    "pénurie",     "changement", "climat",       "saison",
    "engrais",    "magasin",      "boutique",      "élève",       "métier",     "côte",         "île",
    "défrichage", "fièvre",
};

const WordList FRENCH_ER_STEMS = {
    "travaill", "récolt",   "pêch",    "migr",    "port",   "arriv",  "soign",  "parl",    "écout",   "pens",
    "organis",  "lutt",     "aid",     "expliqu", "racont", "cherch", "trouv",  "demand",  "gagn",    "dépens",
    "prêt",     "économis", "cultiv",  "retourn", "rentr",  "march",  "cuisin", "lav",     "chant",   "dans",
    "pri",      "étudi",    "enseign", "réclam",  "sign",   "tu",     "sauv",   "repos",   "termin",  "mont",
    "inond",    "quitt",    "rest",    "tomb",    "pleur",  "rêv",    "aim",    "donn",    "accept",  "refus",
    "décid",    "résist",   "répar",   "habit",   "form",   "plant",  "arros",  "emprunt", "déménag",
};
const WordList FRENCH_ER_ENDINGS = {
    "er", "e", "es", "ons", "ez", "ent", "ais", "ait", "ions", "aient", "é", "ée", "és", "ant",
};

const WordList FRENCH_ADJ_STEMS = {
    "petit", "grand", "dur",     "lent",   "froid", "chaud",  "clair",   "seul",  "fatigué",  "content",  "noir",
    "vrai",  "fort",  "vert",    "urbain", "lourd", "plein",  "court",   "haut",  "prochain", "lointain", "certain",
    "sucré", "salé",  "mouillé", "abîmé",  "isolé", "épuisé", "préféré", "fermé", "ouvert",   "connu",    "perdu",
};
const WordList FRENCH_ADJ_ENDINGS = {"", "e", "s", "es"};
const WordList FRENCH_INVARIABLE = {
    "rapide", "sombre", "tranquille", "propre", "moderne", "riche",      "pauvre",   "rouge",  "difficile", "facile",
    "utile",  "triste", "calme",      "sale",   "paysan",  "autochtone", "précaire", "légère", "sèche",     "dangereux",
};

bool EndsWith(std::string_view text, std::string_view tail) {
    return text.size() >= tail.size() && text.substr(text.size() - tail.size()) == tail;
}

std::string SpanishPlural(std::string_view noun) {
    std::string word(noun);
    if (EndsWith(word, "ón")) return word.substr(0, word.size() - 3) + "ones";
    if (EndsWith(word, "z")) return word.substr(0, word.size() - 1) + "ces";
    const char last = word.back();
    if (std::strchr("aeiou", last) || EndsWith(word, "é")) return word + "s";
    return word + "es";
}

std::string FrenchPlural(std::string_view noun) {
    std::string word(noun);
    if (EndsWith(word, "s") || EndsWith(word, "x") || EndsWith(word, "z")) return word;
    if (EndsWith(word, "eau")) return word + "x";
    if (EndsWith(word, "al")) return word.substr(0, word.size() - 2) + "aux";
    return word + "s";
}

void AddForms(std::vector<std::string>& out, const WordList& stems, const WordList& endings) {
    for (const auto stem : stems)
        for (const auto ending : endings) out.push_back(std::string(stem) + std::string(ending));
}

struct Language {
    std::string code;
    ZipfWords function_words;
    ZipfWords content_words;
    bool inverted_question = false; ///< Spanish opens a question with ¿
};

/// Nouns with their plurals, conjugated verbs and inflected adjectives,
/// deduplicated and shuffled so that frequency ranks mix word classes.
std::vector<std::string> ContentForms(Random& random, const WordList& nouns, std::string (*plural)(std::string_view),
                                      const std::vector<std::pair<const WordList*, const WordList*>>& inflected,
                                      const WordList& invariable) {
    std::vector<std::string> forms;
    for (const auto noun : nouns) {
        forms.emplace_back(noun);
        forms.push_back(plural(noun));
    }
    for (const auto& [stems, endings] : inflected) AddForms(forms, *stems, *endings);
    for (const auto word : invariable) forms.emplace_back(word);
    std::sort(forms.begin(), forms.end());
    forms.erase(std::unique(forms.begin(), forms.end()), forms.end());
    random.Shuffle(forms);
    return forms;
}

std::vector<std::string> Strings(const WordList& words) { return {words.begin(), words.end()}; }

/// Upper-cases an ASCII or Latin-1-supplement first letter (é -> É).
std::string Capitalise(std::string word) {
    if (word.empty()) return word;
    const auto c = static_cast<unsigned char>(word[0]);
    if (c >= 'a' && c <= 'z') {
        word[0] = static_cast<char>(c - 'a' + 'A');
    } else if (c == 0xc3 && word.size() > 1) {
        const auto d = static_cast<unsigned char>(word[1]);
        if (d >= 0xa0 && d <= 0xbe && d != 0xb7) word[1] = static_cast<char>(d - 0x20);
    }
    return word;
}

/// What a person types on a phone keyboard without accents.
std::string StripAccents(const std::string& text) {
    static const std::array<std::pair<std::string_view, char>, 20> FOLD = {{
        {"á", 'a'}, {"à", 'a'}, {"â", 'a'}, {"é", 'e'}, {"è", 'e'}, {"ê", 'e'}, {"ë", 'e'},
        {"í", 'i'}, {"î", 'i'}, {"ï", 'i'}, {"ó", 'o'}, {"ô", 'o'}, {"ú", 'u'}, {"ù", 'u'},
        {"û", 'u'}, {"ü", 'u'}, {"ñ", 'n'}, {"ç", 'c'}, {"É", 'E'}, {"Á", 'A'},
    }};
    std::string out;
    for (size_t i = 0; i < text.size();) {
        bool folded = false;
        for (const auto& [from, to] : FOLD) {
            if (text.compare(i, from.size(), from) == 0) {
                out.push_back(to);
                i += from.size();
                folded = true;
                break;
            }
        }
        if (!folded) out.push_back(text[i++]);
    }
    return out;
}

// [SECTION] Text generation

class TextGenerator {
public:
    explicit TextGenerator(uint64_t seed) : m_random(seed) {
        Random shuffle(seed ^ 0x5eedULL);
        m_spanish.emplace(Language{"es", ZipfWords(Strings(SPANISH_FUNCTION), 1.0),
                                   ZipfWords(ContentForms(shuffle, SPANISH_NOUNS, SpanishPlural,
                                                          {{&SPANISH_AR_STEMS, &SPANISH_AR_ENDINGS},
                                                           {&SPANISH_ER_STEMS, &SPANISH_ER_ENDINGS},
                                                           {&SPANISH_ADJ_STEMS, &SPANISH_ADJ_ENDINGS}},
                                                          SPANISH_INVARIABLE),
                                             1.0),
                                   true});
        m_french.emplace(Language{
            "fr", ZipfWords(Strings(FRENCH_FUNCTION), 1.0),
            ZipfWords(ContentForms(shuffle, FRENCH_NOUNS, FrenchPlural,
                                   {{&FRENCH_ER_STEMS, &FRENCH_ER_ENDINGS}, {&FRENCH_ADJ_STEMS, &FRENCH_ADJ_ENDINGS}},
                                   FRENCH_INVARIABLE),
                      1.0),
            false});
    }

    Random& Rng() { return m_random; }
    /// Seven in ten texts are Spanish, the rest French.
    const Language& PickLanguage() { return m_random.Chance(0.7) ? *m_spanish : *m_french; }
    [[nodiscard]] size_t VocabularySize() const {
        return m_spanish->content_words.Words().size() + m_french->content_words.Words().size() +
               m_spanish->function_words.Words().size() + m_french->function_words.Words().size();
    }

    std::string Sentence(const Language& language) {
        const size_t words = m_random.Between(6, 20);
        const bool question = m_random.Chance(0.08);
        std::string out = question && language.inverted_question ? "¿" : "";
        for (size_t i = 0; i < words; ++i) {
            const bool function = m_random.Chance(0.45);
            const auto& word =
                function ? language.function_words.Draw(m_random) : language.content_words.Draw(m_random);
            if (i == 0) {
                out += Capitalise(word);
            } else {
                out += m_random.Chance(0.07) ? ", " : " ";
                out += word;
            }
        }
        out += question ? "?" : ".";
        return out;
    }

    /// Paragraphs of sentences, between `min_chars` and about `max_chars` bytes.
    std::string Text(const Language& language, size_t min_chars, size_t max_chars) {
        const size_t target = m_random.Between(min_chars, max_chars);
        std::string out;
        size_t in_paragraph = 0;
        size_t paragraph_length = m_random.Between(3, 6);
        while (out.size() < target) {
            const auto sentence = Sentence(language);
            if (out.size() >= min_chars && out.size() + sentence.size() + 2 > max_chars) break;
            if (!out.empty()) out += in_paragraph == 0 ? "\n\n" : " ";
            out += sentence;
            if (++in_paragraph == paragraph_length) {
                in_paragraph = 0;
                paragraph_length = m_random.Between(3, 6);
            }
        }
        return out;
    }

    std::string Title(const Language& language) {
        const size_t words = m_random.Between(2, 6);
        std::string out;
        for (size_t i = 0; i < words; ++i) {
            const auto& word = language.content_words.Draw(m_random);
            out += i == 0 ? Capitalise(word) : " " + word;
        }
        return out;
    }

    /// One or two content words, as a person would look them up; a quarter
    /// typed without accents.
    std::string Query() {
        const Language& language = PickLanguage();
        const auto& words = language.content_words.Words();
        std::string query = m_random.Pick(words);
        if (m_random.Chance(0.5)) query += " " + m_random.Pick(words);
        if (m_random.Chance(0.25)) query = StripAccents(query);
        return query;
    }

private:
    Random m_random;
    std::optional<Language> m_spanish;
    std::optional<Language> m_french;
};

// [SECTION] Generated records

const std::vector<std::string> TERRITORIES = {
    "Cauca",    "Nariño", "Chocó", "Putumayo", "Antioquia", "Sucre",        "Artibonite",    "Grand'Anse",
    "Nord-Est", "Ouest",  "Sud",   "Centre",   "Petén",     "Alta Verapaz", "Huehuetenango", "Quiché",
};
const std::vector<std::string> SECTORS = {
    "café",   "cacao", "pesca artesanal",    "trabajo doméstico",    "minería",           "caña",
    "banano", "pêche", "travail domestique", "agriculture vivrière", "comercio informal", "construcción",
};
const std::vector<std::string> GROUPS = {
    "migrante", "indígena", "afrodescendiente", "joven", "mujer rural", "désplacé", "paysanne", "jornalero",
};
const std::vector<std::string> PSEUDONYMS = {
    "Rosa",   "Camila",    "Itzel", "Yolanda", "Mireille", "Fabiola", "Nadège", "Tomás",  "Efraín",   "Joël",
    "Wilner", "Dieudonné", "Ángel", "Lucía",   "Inés",     "Martín",  "Jesús",  "Héctor", "Béatrice", "Ginette",
};
const std::vector<std::string> AGE_BANDS = {"18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown"};
const std::vector<std::string> NOTE_KINDS = {"observation", "reflexive_memo", "say_vs_do"};
const std::vector<std::string> NARRATIVE_KINDS = {"dominant", "emergent", "alternative"};

std::string DateString(Random& random) {
    char out[16];
    std::snprintf(out, sizeof out, "202%zu-%02zu-%02zu", random.Between(3, 5), random.Between(1, 12),
                  random.Between(1, 28));
    return out;
}

Json ProjectRecord(TextGenerator& text, const std::string& id) {
    const auto& language = text.PickLanguage();
    return Json{{"type", "project"},
                {"id", id},
                {"name", "Escucha " + text.Title(language)},
                {"description", text.Text(language, 400, 900)},
                {"territories", Json::array({"Cauca", "Nariño", "Artibonite"})},
                {"sectors", Json::array({"café", "pesca artesanal", "travail domestique"})},
                {"languages", Json::array({"es", "fr"})}};
}

Json NarrativeRecord(TextGenerator& text, const std::string& id, const std::string& project,
                     const std::vector<std::string>& tellers) {
    auto& random = text.Rng();
    const auto& language = text.PickLanguage();
    Json record{{"type", "narrative"},
                {"id", id},
                {"project_id", project},
                {"title", text.Title(language)},
                {"text", text.Text(language, 1500, 3000)},
                {"kind", random.Pick(NARRATIVE_KINDS)},
                {"language", language.code}};
    if (!tellers.empty()) {
        Json ids = Json::array();
        const size_t count = random.Between(1, 2);
        for (size_t i = 0; i < count; ++i) ids.push_back(random.Pick(tellers));
        if (count == 2 && ids[0] == ids[1]) ids.erase(1);
        record["teller_ids"] = std::move(ids);
    }
    return record;
}

/// One project, then participants, field notes and narratives in turn (1 : 2 : 2).
/// Narratives name one or two of the participants before them as tellers, so
/// the import checks references too.
Json MixedImport(TextGenerator& text, size_t count) {
    auto& random = text.Rng();
    const int64_t base = storage::SystemMillis();
    const std::string project = storage::NewUuidV7(base);
    Json records = Json::array();
    records.push_back(ProjectRecord(text, project));
    std::vector<std::string> participants;
    for (size_t i = 1; i < count; ++i) {
        const std::string id = storage::NewUuidV7(base + static_cast<int64_t>(i));
        const auto& language = text.PickLanguage();
        switch (i % 5) {
        case 1: {
            Json groups = Json::array({random.Pick(GROUPS)});
            if (random.Chance(0.3)) groups.push_back(random.Pick(GROUPS));
            records.push_back(Json{{"type", "participant"},
                                   {"id", id},
                                   {"project_id", project},
                                   {"pseudonym", random.Pick(PSEUDONYMS)},
                                   {"age_band", random.Pick(AGE_BANDS)},
                                   {"territory", random.Pick(TERRITORIES)},
                                   {"sector", random.Pick(SECTORS)},
                                   {"vulnerability_groups", std::move(groups)},
                                   {"notes", text.Text(language, 100, 400)}});
            participants.push_back(id);
            break;
        }
        case 2:
        case 3:
            records.push_back(Json{{"type", "field_note"},
                                   {"id", id},
                                   {"project_id", project},
                                   {"kind", random.Pick(NOTE_KINDS)},
                                   {"title", text.Title(language)},
                                   {"text", text.Text(language, 300, 1500)},
                                   {"written_at", DateString(random)}});
            break;
        default: records.push_back(NarrativeRecord(text, id, project, participants)); break;
        }
    }
    return records;
}

/// One project and `count` narratives: the corpus for the search measurement.
Json SearchCorpus(TextGenerator& text, size_t count) {
    const int64_t base = storage::SystemMillis();
    const std::string project = storage::NewUuidV7(base);
    Json records = Json::array();
    records.push_back(ProjectRecord(text, project));
    for (size_t i = 0; i < count; ++i)
        records.push_back(NarrativeRecord(text, storage::NewUuidV7(base + 1 + static_cast<int64_t>(i)), project, {}));
    return records;
}

/// The successive texts an autosaving editor writes: each save changes,
/// adds or removes a sentence of a note of about 1,500 to 3,000 bytes.
std::vector<std::string> AutosaveTexts(TextGenerator& text, size_t count, std::string& initial) {
    auto& random = text.Rng();
    const auto& language = text.PickLanguage();
    std::vector<std::string> sentences;
    const auto join = [&] {
        std::string out;
        for (size_t i = 0; i < sentences.size(); ++i) {
            if (i) out += i % 4 == 0 ? "\n\n" : " ";
            out += sentences[i];
        }
        return out;
    };
    while (join().size() < 1800) sentences.push_back(text.Sentence(language));
    initial = join();
    std::vector<std::string> texts;
    texts.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const size_t size = join().size();
        if (size < 1500 || (size < 3000 && random.Chance(0.3))) sentences.push_back(text.Sentence(language));
        else if (size > 3000)
            sentences.erase(sentences.begin() + static_cast<std::ptrdiff_t>(random.Below(sentences.size())));
        else sentences[random.Below(sentences.size())] = text.Sentence(language);
        texts.push_back(join());
    }
    return texts;
}

// [SECTION] Timing

double CpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// CPU seconds the whole machine has spent busy since boot (/proc/stat:
/// user, nice, system, irq, softirq), or nothing when that cannot be read.
std::optional<double> MachineBusySeconds() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || cpu != "cpu") return std::nullopt;
    return static_cast<double>(user + nice + system + irq + softirq) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// How busy other processes kept the machine while a step ran: the
/// benchmark shares its cores, and a busy neighbour skews the figures.
class LoadWatch {
public:
    LoadWatch() : m_busy(MachineBusySeconds()), m_own(CpuSeconds()), m_start(std::chrono::steady_clock::now()) {}
    /// Cores other processes kept busy on average since construction.
    [[nodiscard]] std::optional<double> OtherCores() const {
        const auto busy = MachineBusySeconds();
        if (!busy || !m_busy) return std::nullopt;
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        if (wall <= 0) return std::nullopt;
        return std::max(0.0, (*busy - *m_busy - (CpuSeconds() - m_own)) / wall);
    }

private:
    std::optional<double> m_busy;
    double m_own;
    std::chrono::steady_clock::time_point m_start;
};

/// Wall-clock and CPU (user + system) seconds of one timed call.
struct Sample {
    double wall = 0;
    double cpu = 0;
};

template <typename Run>
Sample Measure(Run&& run) {
    const double cpu_start = CpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    run();
    const auto stop = std::chrono::steady_clock::now();
    const double cpu_stop = CpuSeconds();
    return {std::chrono::duration<double>(stop - start).count(), cpu_stop - cpu_start};
}

class Series {
public:
    void Add(const Sample& sample) {
        m_wall.push_back(sample.wall);
        m_cpu.push_back(sample.cpu);
    }
    [[nodiscard]] double MeanWall() const { return Mean(m_wall); }
    [[nodiscard]] double MeanCpu() const { return Mean(m_cpu); }
    [[nodiscard]] double WallPercentile(double p) const {
        if (m_wall.empty()) return 0;
        auto sorted = m_wall;
        std::sort(sorted.begin(), sorted.end());
        const double rank = p * static_cast<double>(sorted.size() - 1);
        const auto low = static_cast<size_t>(std::floor(rank));
        const auto high = std::min(low + 1, sorted.size() - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - static_cast<double>(low));
    }
    [[nodiscard]] size_t Count() const noexcept { return m_wall.size(); }
    [[nodiscard]] const std::vector<double>& Walls() const noexcept { return m_wall; }

private:
    static double Sum(const std::vector<double>& values) {
        double total = 0;
        for (const double v : values) total += v;
        return total;
    }
    static double Mean(const std::vector<double>& values) {
        return values.empty() ? 0 : Sum(values) / static_cast<double>(values.size());
    }
    std::vector<double> m_wall;
    std::vector<double> m_cpu;
};

// [SECTION] Vaults: keyed and plain

enum class Mode { Keyed, Plain };
constexpr size_t KEYED = 0;
constexpr size_t PLAIN = 1;
constexpr std::array<Mode, 2> MODES = {Mode::Keyed, Mode::Plain};

const char* ModeName(Mode mode) { return mode == Mode::Keyed ? "keyed" : "plain"; }

/// The random raw key of this run and a fresh salt, as a vault keeps them.
struct KeyMaterial {
    storage::VaultKey key;
    storage::KdfParams params;
};

/// Opens `file` as storage/src/vault.cpp opens a vault's connection
/// (KeyConnection, then ConfigureConnection); Mode::Plain leaves out the key.
storage::Database OpenConnection(const fs::path& file, Mode mode, const KeyMaterial& key) {
    storage::Database db(file.string(), true);
    if (mode == Mode::Keyed) {
        const auto pragma = key.key.PragmaValue(key.params);
        db.Check(sqlite3_key(db.Handle(), pragma.data(), static_cast<int>(pragma.size())));
        db.Exec("PRAGMA cipher_page_size = 4096");
    } else {
        db.Exec("PRAGMA page_size = 4096");
    }
    db.Exec("PRAGMA busy_timeout = 10000");
    db.Exec("PRAGMA temp_store = MEMORY");
    db.Exec("PRAGMA journal_mode = WAL");
    db.Exec("PRAGMA journal_size_limit = 4194304");
    db.Exec("PRAGMA synchronous = FULL");
    db.Exec("PRAGMA secure_delete = ON");
    storage::RegisterSearchFunctions(db);
    return db;
}

std::string Megabytes(uintmax_t bytes) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return out;
}

fs::path DatabaseFile(const fs::path& dir) {
    fs::create_directories(dir);
    return dir / "vault.db";
}

/// A fresh vault database in `dir`, with its schema, as Vault::Create leaves it.
class BenchVault {
public:
    BenchVault(const fs::path& dir, Mode mode, const storage::Catalogue& catalogue, const KeyMaterial& key)
        : m_mode(mode), m_dir(dir), m_file(DatabaseFile(dir)), m_db(OpenConnection(m_file, mode, key)),
          m_device(storage::NewUuidV7()),
          m_store(m_db, catalogue, m_clock, storage::WriterIdentity{"bench", m_device}) {
        storage::Transaction txn(m_db);
        m_store.EnsureSchema();
        auto meta = m_db.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
        const auto put = [&](const char* k, const std::string& v) {
            meta.Bind(1, k).Bind(2, v).Run();
            meta.Reset();
        };
        put("format", "escucha-vault/1");
        put("device", m_device);
        put("author", "bench");
        put("created_at", storage::FormatIsoMillis(storage::SystemMillis()));
        txn.Commit();
    }
    BenchVault(const BenchVault&) = delete;
    BenchVault& operator=(const BenchVault&) = delete;

    [[nodiscard]] Mode GetMode() const noexcept { return m_mode; }
    [[nodiscard]] const fs::path& Dir() const noexcept { return m_dir; }
    [[nodiscard]] storage::Database& Db() noexcept { return m_db; }
    [[nodiscard]] storage::RecordStore& Store() noexcept { return m_store; }

    /// Bytes of `name` in the vault directory (0 when absent).
    [[nodiscard]] uintmax_t Bytes(const char* name) const {
        std::error_code ec;
        const auto size = fs::file_size(m_dir / name, ec);
        return ec ? 0 : size;
    }
    /// "vault.db 12.3 MB + WAL 4.5 MB"
    [[nodiscard]] std::string Sizes() const {
        return "vault.db " + Megabytes(Bytes("vault.db")) + " + WAL " + Megabytes(Bytes("vault.db-wal"));
    }

    /// True when the file starts with SQLite's plaintext header.
    [[nodiscard]] bool HasPlainHeader() const {
        std::ifstream in(m_file, std::ios::binary);
        char header[16] = {};
        in.read(header, sizeof header);
        return in && std::memcmp(header, "SQLite format 3", 16) == 0;
    }

private:
    Mode m_mode;
    fs::path m_dir;
    fs::path m_file;
    storage::Database m_db;
    storage::HybridLogicalClock m_clock;
    std::string m_device;
    storage::RecordStore m_store;
};

/// Pages a connection read from its files (cache misses; each one decrypted
/// and checked when keyed) and wrote (each one encrypted when keyed).
struct PageCounts {
    int64_t read = 0;
    int64_t written = 0;
};

/// The counts since the last call, and starts counting afresh.
PageCounts TakePageCounts(storage::Database& db) {
    int current = 0;
    int highest = 0;
    PageCounts counts;
    sqlite3_db_status(db.Handle(), SQLITE_DBSTATUS_CACHE_MISS, &current, &highest, 1);
    counts.read = current;
    sqlite3_db_status(db.Handle(), SQLITE_DBSTATUS_CACHE_WRITE, &current, &highest, 1);
    counts.written = current;
    return counts;
}

std::string DescribePages(const char* what, const std::array<PageCounts, 2>& counts, double per) {
    char out[256];
    std::snprintf(out, sizeof out, "%s: pages read from file %.1f keyed / %.1f plain, pages written %.1f / %.1f", what,
                  static_cast<double>(counts[0].read) / per, static_cast<double>(counts[1].read) / per,
                  static_cast<double>(counts[0].written) / per, static_cast<double>(counts[1].written) / per);
    return out;
}

using VaultPair = std::array<std::unique_ptr<BenchVault>, 2>;

VaultPair OpenPair(const fs::path& root, const std::string& name, const storage::Catalogue& catalogue,
                   const KeyMaterial& key) {
    VaultPair pair;
    for (const Mode mode : MODES) {
        const size_t slot = mode == Mode::Keyed ? KEYED : PLAIN;
        pair[slot] = std::make_unique<BenchVault>(root / (name + "-" + ModeName(mode)), mode, catalogue, key);
    }
    return pair;
}

/// Keyed first on even turns, plain first on odd ones.
std::array<size_t, 2> TurnOrder(size_t turn) {
    return turn % 2 == 0 ? std::array<size_t, 2>{KEYED, PLAIN} : std::array<size_t, 2>{PLAIN, KEYED};
}

/// Flushes what earlier steps left dirty in the page cache, so that writeback
/// does not land in the next timed step.
void SettleDisk() { ::sync(); }

/// A directory under /tmp for this run, removed with everything in it.
class TempRoot {
public:
    TempRoot() {
        std::string pattern = "/tmp/escucha-bench-XXXXXX";
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create a directory under /tmp");
        m_path = pattern;
    }
    TempRoot(const TempRoot&) = delete;
    TempRoot& operator=(const TempRoot&) = delete;
    ~TempRoot() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    [[nodiscard]] const fs::path& Path() const noexcept { return m_path; }

private:
    fs::path m_path;
};

// [SECTION] Light on the phone: the import floor, pages by b-tree, copies, sizes

/// The bare keyed import of `records`: the same typed rows, record index
/// rows and search rows that RecordStore::Import leaves, written with
/// prepared INSERTs reused across rows in one transaction, with no
/// validation, no reference checks and no journal. What is left of the
/// import's time above it is the project's own work.
void BareImport(storage::Database& db, const storage::Catalogue& catalogue, const Json& records) {
    struct Insert {
        const storage::RecordType* type;
        std::unique_ptr<storage::Statement> stmt;
    };
    std::map<std::string, Insert> inserts;
    for (const auto& type : catalogue.Types()) {
        std::string columns = "id, project_id, created_at, updated_at, author, device, rev, deleted";
        std::string marks = "?, ?, ?, ?, ?, ?, ?, ?";
        for (const auto& f : type.fields) {
            columns += ", \"" + f.name + "\"";
            marks += ", ?";
        }
        inserts[type.name] = {&type, std::make_unique<storage::Statement>(
                                         db, "INSERT INTO \"" + type.name + "\" (" + columns + ") VALUES (" + marks +
                                                 ")")};
    }
    auto index = db.Prepare("INSERT INTO record_index (id, type) VALUES (?, ?)");
    auto doc = db.Prepare("INSERT INTO search_doc (record_id, record_type) VALUES (?, ?)");
    auto fts = db.Prepare("INSERT INTO search_index (docid, title, body) VALUES (?, ?, ?)");
    const std::string now = "2026-01-01T00:00:00.000Z";
    // The page cache RecordStore::Import works with (IMPORT_CACHE_KIB).
    db.Exec("PRAGMA cache_size = -65536");
    storage::Transaction txn(db);
    for (const auto& record : records) {
        auto& [type, stmt] = inserts.at(record.at("type").get<std::string>());
        const std::string& id = record.at("id").get_ref<const std::string&>();
        stmt->Bind(1, id).Bind(2, record.value("project_id", id)).Bind(3, now).Bind(4, now + "-0000-bench");
        stmt->Bind(5, "bench").Bind(6, "bench-device").Bind(7, 1).Bind(8, 0);
        int column = 9;
        std::string title;
        std::string body;
        for (const auto& f : type->fields) {
            const auto it = record.find(f.name);
            if (it == record.end() || it->is_null()) {
                stmt->BindNull(column++);
                continue;
            }
            if (it->is_string()) stmt->Bind(column++, it->get_ref<const std::string&>());
            else if (it->is_number_integer()) stmt->Bind(column++, it->get<int64_t>());
            else if (it->is_boolean()) stmt->Bind(column++, it->get<bool>() ? 1 : 0);
            else stmt->Bind(column++, it->dump());
            if (f.name == type->title_field && it->is_string()) title = it->get<std::string>();
            else if (f.searchable && it->is_string()) body += it->get_ref<const std::string&>() + "\n";
            else if (f.searchable && it->is_array())
                for (const auto& item : *it)
                    if (item.is_string()) body += item.get_ref<const std::string&>() + "\n";
        }
        stmt->Run();
        stmt->Reset();
        index.Bind(1, id).Bind(2, type->name).Run();
        index.Reset();
        if (title.empty() && body.empty()) continue;
        doc.Bind(1, id).Bind(2, type->name).Run();
        doc.Reset();
        fts.Bind(1, db.LastInsertRowId()).Bind(2, title).Bind(3, body).Run();
        fts.Reset();
    }
    txn.Commit();
}

uint32_t Be32(const unsigned char* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | uint32_t{p[1]}; }

/// An SQLite varint at `p`; returns its length.
size_t Varint(const unsigned char* p, uint64_t& value) {
    value = 0;
    for (size_t i = 0; i < 8; ++i) {
        value = (value << 7) | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) return i + 1;
    }
    value = (value << 8) | p[8];
    return 9;
}

/// Which b-tree (table or index, by name) each page of a plain SQLite file
/// belongs to, read from the file itself (the file format's b-tree pages,
/// overflow chains and free list). The file must be checkpointed.
class PageOwners {
public:
    PageOwners(const fs::path& file, storage::Database& db) {
        std::ifstream in(file, std::ios::binary);
        m_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (m_bytes.size() < 100) throw std::runtime_error("not an SQLite file: " + file.string());
        m_page_size = Be16(At(16)) == 1 ? 65536 : Be16(At(16));
        m_usable = m_page_size - *At(20);
        Walk(1, "sqlite_master", 0);
        auto roots = db.Prepare("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0");
        while (roots.Step()) Walk(static_cast<uint32_t>(roots.Int(1)), roots.Text(0), 0);
        for (uint32_t trunk = Be32(At(32)), guard = 0; trunk && guard < 1'000'000; ++guard) {
            const auto* t = Page(trunk);
            if (!t) break;
            m_owner[trunk] = "(free list)";
            const uint32_t leaves = std::min<uint32_t>(Be32(t + 4), (m_usable - 8) / 4);
            for (uint32_t i = 0; i < leaves; ++i) m_owner[Be32(t + 8 + 4 * i)] = "(free list)";
            trunk = Be32(t);
        }
    }
    [[nodiscard]] std::string Of(uint32_t page) const {
        const auto it = m_owner.find(page);
        return it == m_owner.end() ? "(unknown)" : it->second;
    }

private:
    [[nodiscard]] const unsigned char* At(size_t offset) const {
        return reinterpret_cast<const unsigned char*>(m_bytes.data()) + offset;
    }
    [[nodiscard]] const unsigned char* Page(uint32_t page) const {
        if (page == 0 || static_cast<size_t>(page) * m_page_size > m_bytes.size()) return nullptr;
        return reinterpret_cast<const unsigned char*>(m_bytes.data()) + static_cast<size_t>(page - 1) * m_page_size;
    }
    void Walk(uint32_t page, const std::string& name, int depth) {
        const auto* p = Page(page);
        if (!p || depth > 40 || m_owner.count(page)) return;
        m_owner[page] = name;
        const size_t header = page == 1 ? 100 : 0;
        const unsigned char kind = p[header];
        if (kind != 2 && kind != 5 && kind != 10 && kind != 13) return;
        const bool interior = kind == 2 || kind == 5;
        const bool index = kind == 2 || kind == 10;
        const uint32_t cells = Be16(p + header + 3);
        const size_t pointers = header + (interior ? 12 : 8);
        const uint64_t usable = m_usable;
        for (uint32_t i = 0; i < cells && pointers + 2 * i + 2 <= m_page_size; ++i) {
            const uint32_t offset = Be16(p + pointers + 2 * i);
            // An interior cell may be the last few bytes of its page (a
            // child number and a short key): its child is walked all the same.
            if (offset + 4 > m_page_size) continue;
            const unsigned char* c = p + offset;
            if (interior) {
                Walk(Be32(c), name, depth + 1);
                c += 4;
            }
            // A cell that overflows is hundreds of bytes long; one this near the end does not.
            if (offset + 22 > m_page_size) continue;
            if (kind == 5) continue; // a table's interior cell holds a rowid only
            uint64_t payload = 0;
            c += Varint(c, payload);
            if (kind == 13) {
                uint64_t rowid = 0;
                c += Varint(c, rowid);
            }
            const uint64_t most_local = index ? (usable - 12) * 64 / 255 - 23 : usable - 35;
            if (payload <= most_local) continue;
            const uint64_t least_local = (usable - 12) * 32 / 255 - 23;
            const uint64_t k = least_local + (payload - least_local) % (usable - 4);
            const uint64_t local = k <= most_local ? k : least_local;
            if (static_cast<size_t>(c - p) + local + 4 > m_page_size) continue;
            for (uint32_t next = Be32(c + local), guard = 0; next && guard < 1'000'000; ++guard) {
                const auto* o = Page(next);
                if (!o || m_owner.count(next)) break;
                m_owner[next] = name;
                next = Be32(o);
            }
        }
        if (interior) Walk(Be32(p + header + 8), name, depth + 1);
    }
    std::string m_bytes;
    uint32_t m_page_size = 4096;
    uint32_t m_usable = 4096;
    std::map<uint32_t, std::string> m_owner;
};

/// The page number of each frame of a write-ahead log, in order.
std::vector<uint32_t> WalFramePages(const fs::path& wal) {
    std::ifstream in(wal, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<uint32_t> pages;
    if (bytes.size() < 32) return pages;
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t frame = 24 + Be32(b + 8);
    for (size_t at = 32; at + frame <= bytes.size(); at += frame) pages.push_back(Be32(b + at));
    return pages;
}

/// Pages each commit of `work` (run `count` times) writes, by b-tree, in a
/// plain vault: the frames it appends to the write-ahead log, mapped to
/// the tables and indexes that own those pages. Best first, per commit.
std::vector<std::pair<std::string, double>> PagesByTree(BenchVault& vault, size_t count,
                                                        const std::function<void(size_t)>& work) {
    auto& db = vault.Db();
    db.Exec("PRAGMA wal_autocheckpoint = 0");
    db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    for (size_t i = 0; i < count; ++i) work(i);
    const auto frames = WalFramePages(vault.Dir() / "vault.db-wal");
    db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.Exec("PRAGMA wal_autocheckpoint = 1000");
    const PageOwners owners(vault.Dir() / "vault.db", db);
    std::map<std::string, double> by_tree;
    for (const auto page : frames) by_tree[owners.Of(page)] += 1.0 / static_cast<double>(count);
    std::vector<std::pair<std::string, double>> out(by_tree.begin(), by_tree.end());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

std::string DescribeTrees(const std::vector<std::pair<std::string, double>>& trees) {
    std::string out;
    double total = 0;
    for (const auto& [name, pages] : trees) total += pages;
    char part[96];
    std::snprintf(part, sizeof part, "%.1f pages:", total);
    out = part;
    for (const auto& [name, pages] : trees) {
        std::snprintf(part, sizeof part, " %s %.1f,", name.c_str(), pages);
        out += part;
    }
    if (!out.empty() && out.back() == ',') out.pop_back();
    return out;
}

/// Where the vault holds a copy of `text` (a record's long text): the
/// record's row, the search index's own content table (FTS4 keeps one unless
/// its content is external), and journal rows holding the record's body.
struct Copies {
    int64_t row = 0;
    int64_t search = 0;
    int64_t journal = 0;
    [[nodiscard]] int64_t Total() const { return row + search + journal; }
};

Copies CountCopies(storage::Database& db, const std::string& table, const std::string& id, const std::string& text) {
    // A piece of the text as it appears in SQL text and, escaped, in JSON.
    const std::string piece = text.substr(0, std::min<size_t>(text.size(), 120));
    auto escaped = Json(piece).dump();
    escaped = escaped.substr(1, escaped.size() - 2);
    Copies copies;
    auto row = db.Prepare("SELECT count(*) FROM \"" + table + "\" WHERE id = ? AND instr(text, ?) > 0");
    row.Bind(1, id).Bind(2, piece);
    copies.row = row.Step() ? row.Int(0) : 0;
    if (db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'search_index_content'") > 0) {
        auto search = db.Prepare("SELECT count(*) FROM search_index_content WHERE instr(c1body, ?) > 0");
        search.Bind(1, piece);
        copies.search = search.Step() ? search.Int(0) : 0;
    }
    auto journal = db.Prepare("SELECT count(*) FROM journal WHERE record_id = ? AND instr(body, ?) > 0");
    journal.Bind(1, id).Bind(2, escaped);
    copies.journal = journal.Step() ? journal.Int(0) : 0;
    return copies;
}

std::string DescribeCopies(const Copies& c) {
    return std::to_string(c.Total()) + " (row " + std::to_string(c.row) + ", search index " +
           std::to_string(c.search) + ", journal " + std::to_string(c.journal) + ")";
}

/// Bytes of the records as an export writes them: one JSON array of every
/// record as the store reads it back.
uintmax_t ExportBytes(storage::RecordStore& store) {
    uintmax_t bytes = 2;
    store.ForEach([&](const Json& record) { bytes += record.dump().size() + 1; });
    return bytes;
}

/// Lines of the table that issue 14 asks for: what is measured now and the goal.
struct LightRow {
    std::string measure;
    std::string now;
    std::string goal;
};

void PrintLightTable(const std::vector<LightRow>& rows) {
    std::printf("\nLight on the phone (issue 14)\n\n| measure | now | goal |\n|---|---|---|\n");
    for (const auto& row : rows) std::printf("| %s | %s | %s |\n", row.measure.c_str(), row.now.c_str(), row.goal.c_str());
}

std::string Format(const char* format, double a, double b = 0, double c = 0, double d = 0) {
    char out[256];
    std::snprintf(out, sizeof out, format, a, b, c, d);
    return out;
}

// [SECTION] Report

std::string CpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

struct Row {
    std::string label;
    double keyed = 0;
    double plain = 0;
    const char* unit = "ms";
    double factor = 1e3; ///< seconds to `unit`
};

void PrintTable(const std::vector<Row>& rows) {
    std::printf("\n%-44s %14s %14s %12s\n", "measurement", "keyed", "plain", "keyed/plain");
    std::printf("%-44s %14s %14s %12s\n", std::string(44, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(12, '-').c_str());
    for (const auto& row : rows) {
        char keyed[32];
        char plain[32];
        std::snprintf(keyed, sizeof keyed, "%.3f %s", row.keyed * row.factor, row.unit);
        std::snprintf(plain, sizeof plain, "%.3f %s", row.plain * row.factor, row.unit);
        std::printf("%-44s %14s %14s %11.2fx\n", row.label.c_str(), keyed, plain,
                    row.plain > 0 ? row.keyed / row.plain : 0.0);
    }
}

/// The FTS4 MATCH expression RecordStore::Search builds for plain words.
std::string MatchExpression(const std::string& query) {
    std::string out;
    std::string word;
    const auto flush = [&] {
        if (!word.empty()) out += (out.empty() ? "\"" : " \"") + word + "\"";
        word.clear();
    };
    for (const char c : query) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || std::isalnum(u)) word.push_back(c);
        else flush();
    }
    flush();
    return out;
}

void Progress(const std::string& message) {
    std::fprintf(stderr, "[%s] %s\n", storage::FormatIsoMillis(storage::SystemMillis()).substr(11, 8).c_str(),
                 message.c_str());
}

// [SECTION] The run

int Run(const Options& options) {
    storage::EnsureSodium();
    TempRoot root;
    KeyMaterial key;
    randombytes_buf(key.key.Data(), storage::KEY_BYTES);
    key.params = storage::KdfParams::Fresh();
    storage::Catalogue catalogue;
    escucha::capture::AddListeningTypes(catalogue);
    TextGenerator text(options.seed);
    std::vector<Row> rows;
    std::vector<std::string> notes;
    std::vector<LightRow> light;

    std::printf("Vault: keyed vs plain SQLite (same SQLCipher library)\n");
    std::printf("  machine: %ld cores, %s\n", ::sysconf(_SC_NPROCESSORS_ONLN), CpuModel().c_str());
    std::printf("  records: %zu  commits: %zu  queries: %zu  seed: %llu\n", options.records, options.commits,
                options.queries, static_cast<unsigned long long>(options.seed));
    std::printf("  temporary vaults under %s\n", root.Path().c_str());
    std::fflush(stdout);

    // (b) Bulk import, then (a) autosave in the vaults it filled.
    Progress("(b) generating " + std::to_string(options.records) + " records");
    Json import = MixedImport(text, options.records);
    VaultPair mixed = OpenPair(root.Path(), "mixed", catalogue, key);
    {
        auto& keyed = mixed[KEYED]->Db();
        std::printf("  SQLite %s, SQLCipher %s (%s %s), cipher %s, HMAC %s, page size %lld\n", sqlite3_libversion(),
                    keyed.QueryText("PRAGMA cipher_version").value_or("?").c_str(),
                    keyed.QueryText("PRAGMA cipher_provider").value_or("?").c_str(),
                    keyed.QueryText("PRAGMA cipher_provider_version").value_or("?").c_str(),
                    keyed.QueryText("PRAGMA cipher").value_or("?").c_str(),
                    keyed.QueryInt("PRAGMA cipher_use_hmac") ? "on" : "off",
                    static_cast<long long>(keyed.QueryInt("PRAGMA page_size")));
        std::printf("  plain page size %lld; both: journal_mode=%s synchronous=%lld cache_size=%lld\n",
                    static_cast<long long>(mixed[PLAIN]->Db().QueryInt("PRAGMA page_size")),
                    keyed.QueryText("PRAGMA journal_mode").value_or("?").c_str(),
                    static_cast<long long>(keyed.QueryInt("PRAGMA synchronous")),
                    static_cast<long long>(keyed.QueryInt("PRAGMA cache_size")));
        std::fflush(stdout);
    }
    // Two imports per mode, in the order plain, keyed, keyed, plain, so that
    // drift in machine speed during the run weighs on both alike. (a) then
    // runs in the first pair; the second pair is removed straight away.
    VaultPair second = OpenPair(root.Path(), "mixed2", catalogue, key);
    std::array<Series, 2> import_time;
    std::array<PageCounts, 2> pages{};
    std::vector<std::pair<std::string, std::optional<double>>> load;
    const std::array<std::pair<VaultPair*, size_t>, 4> import_turns = {
        {{&mixed, PLAIN}, {&mixed, KEYED}, {&second, KEYED}, {&second, PLAIN}}};
    for (const auto& [pair, slot] : import_turns) {
        auto& vault = *(*pair)[slot];
        const std::string label =
            std::string(ModeName(vault.GetMode())) + " #" + std::to_string(import_time[slot].Count() + 1);
        SettleDisk();
        (void)TakePageCounts(vault.Db());
        const LoadWatch watch;
        Progress("(b) importing into " + label);
        size_t imported = 0;
        import_time[slot].Add(Measure([&] { imported = vault.Store().Import(import).size(); }));
        if (imported != import.size()) throw std::runtime_error("the import stored fewer records than given");
        load.emplace_back("(b) " + label, watch.OtherCores());
        const auto counts = TakePageCounts(vault.Db());
        if (pair == &mixed) pages[slot] = counts;
    }
    notes.push_back(DescribePages("(b) one import", pages, 1.0));
    for (const auto& type : {"participant", "field_note", "narrative"}) {
        const int64_t expected = mixed[PLAIN]->Store().Count(type);
        for (const auto* pair : {&mixed, &second})
            for (const auto& vault : *pair)
                if (vault->Store().Count(type) != expected)
                    throw std::runtime_error(std::string("the vaults hold different numbers of ") + type);
    }
    for (auto& vault : second) {
        const auto dir = vault->Dir();
        vault.reset();
        fs::remove_all(dir);
    }
    // The bare keyed floor: the same rows without the project's own work.
    Sample floor{};
    {
        const auto dir = root.Path() / "floor-keyed";
        auto vault = std::make_unique<BenchVault>(dir, Mode::Keyed, catalogue, key);
        SettleDisk();
        Progress("(b) bare keyed import (the floor)");
        floor = Measure([&] { BareImport(vault->Db(), catalogue, import); });
        if (vault->Db().QueryInt("SELECT count(*) FROM record_index") != static_cast<int64_t>(import.size()))
            throw std::runtime_error("the bare import stored fewer records than given");
        vault.reset();
        fs::remove_all(dir);
    }
    if (options.statements) {
        // Where a keyed import's time goes, statement by statement, beside
        // the floor's: the time SQLite reports for each run of each statement
        // (FTS4's own statements inside an insert into the index are counted
        // inside that insert too).
        const auto profile = [&](const char* what, const std::function<void(BenchVault&)>& work) {
            const auto dir = root.Path() / "statements-keyed";
            auto vault = std::make_unique<BenchVault>(dir, Mode::Keyed, catalogue, key);
            std::map<std::string, std::pair<double, int64_t>> by_sql; // seconds, runs
            const auto trace = [](unsigned, void* context, void* statement, void* nanoseconds) -> int {
                auto& totals = *static_cast<std::map<std::string, std::pair<double, int64_t>>*>(context);
                const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
                auto& [seconds, runs] = totals[sql ? std::string(sql).substr(0, 90) : "?"];
                seconds += static_cast<double>(*static_cast<int64_t*>(nanoseconds)) / 1e9;
                ++runs;
                return 0;
            };
            vault->Db().Check(sqlite3_trace_v2(vault->Db().Handle(), SQLITE_TRACE_PROFILE, trace, &by_sql));
            Progress(std::string("(b) ") + what + ", statement by statement");
            const Sample sample = Measure([&] { work(*vault); });
            sqlite3_trace_v2(vault->Db().Handle(), 0, nullptr, nullptr);
            std::vector<std::pair<std::string, std::pair<double, int64_t>>> top(by_sql.begin(), by_sql.end());
            std::sort(top.begin(), top.end(),
                      [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
            char line[256];
            std::snprintf(line, sizeof line, "(b) statements of %s (%.1f s), the largest:", what, sample.wall);
            notes.push_back(line);
            for (size_t i = 0; i < top.size() && i < 8; ++i) {
                std::snprintf(line, sizeof line, "      %6.2f s %8lld runs  %s", top[i].second.first,
                              static_cast<long long>(top[i].second.second), top[i].first.c_str());
                notes.push_back(line);
            }
            vault.reset();
            fs::remove_all(dir);
        };
        profile("one more keyed import", [&](BenchVault& v) { v.Store().Import(import); });
        profile("one more bare keyed import", [&](BenchVault& v) { BareImport(v.Db(), catalogue, import); });
    }
    // What the import left on disk, against the JSON an export writes.
    const uintmax_t export_bytes = ExportBytes(mixed[KEYED]->Store());
    {
        // Where those bytes are, by table and index (the plain vault, whose file can be read).
        auto& plain = *mixed[PLAIN];
        plain.Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        const PageOwners owners(plain.Dir() / "vault.db", plain.Db());
        const auto pages = static_cast<uint32_t>(plain.Bytes("vault.db") / 4096);
        std::map<std::string, double> megabytes;
        for (uint32_t page = 1; page <= pages; ++page) megabytes[owners.Of(page)] += 4096.0 / 1e6;
        std::vector<std::pair<std::string, double>> trees(megabytes.begin(), megabytes.end());
        std::sort(trees.begin(), trees.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        std::string line = "(b) the plain vault after the import, MB by b-tree (export " +
                           std::to_string(export_bytes / 100'000 / 10.0).substr(0, 5) + " MB):";
        char part[96];
        for (const auto& [name, mb] : trees) {
            if (mb < 0.05) continue;
            std::snprintf(part, sizeof part, " %s %.1f,", name.c_str(), mb);
            line += part;
        }
        line.pop_back();
        notes.push_back(line);
    }
    {
        // What larger pages and a merged index would make of it: a copy of
        // the plain vault, VACUUMed (vault.cpp fixes 4 KB pages when a vault
        // is made; docs/decisions/0024 says why they stay).
        const auto copy = root.Path() / "pages" / "vault.db";
        fs::create_directories(copy.parent_path());
        fs::copy_file(mixed[PLAIN]->Dir() / "vault.db", copy, fs::copy_options::overwrite_existing);
        storage::Database db(copy.string(), true);
        db.Exec("PRAGMA journal_mode = DELETE");
        storage::RegisterSearchFunctions(db);
        const auto ratio = [&] {
            char part[64];
            std::snprintf(part, sizeof part, "%.1f MB (%.2fx)", static_cast<double>(fs::file_size(copy)) / 1e6,
                          static_cast<double>(fs::file_size(copy)) / static_cast<double>(export_bytes));
            return std::string(part);
        };
        std::string line = "(b) the plain vault against its export: as imported " + ratio();
        db.Exec("VACUUM");
        line += "; VACUUMed " + ratio();
        db.Exec("INSERT INTO search_index(search_index) VALUES('optimize')");
        db.Exec("VACUUM");
        line += "; index merged " + ratio();
        for (const int page : {8192, 16384}) {
            db.Exec("PRAGMA page_size = " + std::to_string(page));
            db.Exec("VACUUM");
            line += "; at " + std::to_string(page / 1024) + " KB pages " + ratio();
        }
        notes.push_back(line);
        fs::remove_all(copy.parent_path());
    }
    mixed[KEYED]->Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const uintmax_t imported_bytes = mixed[KEYED]->Bytes("vault.db") + mixed[KEYED]->Bytes("vault.db-wal");
    {
        char line[256];
        const auto& k = import_time[KEYED].Walls();
        const auto& p = import_time[PLAIN].Walls();
        std::snprintf(line, sizeof line,
                      "(b) each import, in run order: plain %.1f s, keyed %.1f s, keyed %.1f s, plain %.1f s", p.at(0),
                      k.at(0), k.at(1), p.at(1));
        notes.push_back(line);
    }
    import = Json();
    notes.push_back("(b) after the import: keyed " + mixed[KEYED]->Sizes() + "; plain " + mixed[PLAIN]->Sizes());

    Progress("(a) " + std::to_string(options.commits) + " autosave commits in each vault");
    std::string initial;
    const auto texts = AutosaveTexts(text, options.commits, initial);
    std::vector<Json> patches;
    patches.reserve(texts.size());
    for (const auto& t : texts) patches.push_back(Json{{"text", t}});
    const std::string note_id = storage::NewUuidV7();
    for (auto& vault : mixed) {
        const auto project = vault->Store().List("project").at(0)["id"].get<std::string>();
        (void)vault->Store().Create("field_note", Json{{"id", note_id},
                                                       {"project_id", project},
                                                       {"kind", "observation"},
                                                       {"title", "Notas de campo"},
                                                       {"text", initial}});
    }
    SettleDisk();
    for (auto& vault : mixed) (void)TakePageCounts(vault->Db());
    std::array<Series, 2> autosave;
    std::optional<LoadWatch> watch(std::in_place);
    for (size_t i = 0; i < patches.size(); ++i) {
        for (const size_t slot : TurnOrder(i)) {
            auto& store = mixed[slot]->Store();
            autosave[slot].Add(Measure([&] { (void)store.Update(note_id, patches[i]); }));
        }
    }
    load.emplace_back("(a)", watch->OtherCores());
    pages = {TakePageCounts(mixed[KEYED]->Db()), TakePageCounts(mixed[PLAIN]->Db())};
    notes.push_back(DescribePages("(a) per commit", pages, static_cast<double>(patches.size())));
    const auto autosave_pages = pages;
    for (auto& vault : mixed) {
        if (vault->Store().Get(note_id).value()["rev"].get<int64_t>() != static_cast<int64_t>(patches.size()) + 1)
            throw std::runtime_error("an autosave commit went missing");
    }
    const int64_t note_changes = [&] {
        auto count = mixed[KEYED]->Db().Prepare("SELECT count(*) FROM journal WHERE record_id = ?");
        count.Bind(1, note_id);
        return count.Step() ? count.Int(0) : -1;
    }();
    // Copies as they stand once the search index has caught up with the
    // edits (a search, an idle moment or closing the vault does it).
    mixed[KEYED]->Store().SettleSearchIndex();
    const Copies note_copies = CountCopies(mixed[KEYED]->Db(), "field_note", note_id,
                                           mixed[KEYED]->Store().Get(note_id).value()["text"].get<std::string>());
    // Where a commit's pages go, in the plain vault (its file can be read).
    const size_t traced = std::min<size_t>(50, patches.size());
    Progress("(a) " + std::to_string(traced) + " more commits, their pages traced by b-tree");
    const auto trees = PagesByTree(*mixed[PLAIN], traced,
                                   [&](size_t i) { (void)mixed[PLAIN]->Store().Update(note_id, patches[i]); });
    notes.push_back("(a) per commit, plain, by b-tree: " + DescribeTrees(trees));
    const bool keyed_hidden = !mixed[KEYED]->HasPlainHeader();
    const bool plain_plain = mixed[PLAIN]->HasPlainHeader();
    for (auto& vault : mixed) {
        const auto dir = vault->Dir();
        vault.reset();
        fs::remove_all(dir);
    }

    // (d) Fifty edits of one 20 KB narrative before a sync.
    Progress("(d) 50 edits of one 20 KB narrative");
    double narrative_growth = 0, narrative_with_wal = 0, narrative_text = 0;
    int64_t narrative_changes = 0;
    Copies narrative_copies;
    {
        const auto dir = root.Path() / "narrative-keyed";
        auto vault = std::make_unique<BenchVault>(dir, Mode::Keyed, catalogue, key);
        auto& store = vault->Store();
        const auto& language = text.PickLanguage();
        const std::string project = store.Create("project", ProjectRecord(text, storage::NewUuidV7()))["id"];
        std::vector<std::string> sentences;
        std::string body;
        const auto join = [&] {
            body.clear();
            for (size_t i = 0; i < sentences.size(); ++i) body += (i ? (i % 5 == 0 ? "\n\n" : " ") : "") + sentences[i];
        };
        while (body.size() < 20000) {
            sentences.push_back(text.Sentence(language));
            join();
        }
        const std::string id = store.Create("narrative", Json{{"project_id", project},
                                                               {"title", text.Title(language)},
                                                               {"text", body},
                                                               {"kind", "emergent"},
                                                               {"language", language.code}})["id"];
        vault->Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        const double before = static_cast<double>(vault->Bytes("vault.db"));
        for (int i = 0; i < 50; ++i) {
            sentences[text.Rng().Below(sentences.size())] = text.Sentence(language);
            join();
            (void)store.Update(id, Json{{"text", body}});
        }
        auto count = vault->Db().Prepare("SELECT count(*) FROM journal WHERE record_id = ?");
        count.Bind(1, id);
        narrative_changes = count.Step() ? count.Int(0) : -1;
        count.Reset();
        narrative_text = static_cast<double>(body.size());
        narrative_with_wal = static_cast<double>(vault->Bytes("vault.db") + vault->Bytes("vault.db-wal")) - before;
        store.SettleSearchIndex(); // as at the next idle moment, before its checkpoint
        narrative_copies = CountCopies(vault->Db(), "narrative", id, body);
        vault->Db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        narrative_growth = static_cast<double>(vault->Bytes("vault.db")) - before;
        vault.reset();
        fs::remove_all(dir);
    }

    // (c) Search over long narratives.
    Progress("(c) generating " + std::to_string(options.records) + " narratives");
    Json corpus = SearchCorpus(text, options.records);
    size_t corpus_bytes = 0;
    for (const auto& record : corpus)
        if (record.contains("text")) corpus_bytes += record["text"].get_ref<const std::string&>().size();
    VaultPair search = OpenPair(root.Path(), "search", catalogue, key);
    std::array<Sample, 2> corpus_time{};
    for (const size_t slot : {KEYED, PLAIN}) { // the reverse of (b)'s order
        SettleDisk();
        Progress(std::string("(c) filling the ") + ModeName(search[slot]->GetMode()) + " vault (not timed)");
        auto& store = search[slot]->Store();
        corpus_time[slot] = Measure([&] { (void)store.Import(corpus); });
    }
    corpus = Json();
    std::vector<std::string> queries;
    for (size_t i = 0; i < options.queries; ++i) queries.push_back(text.Query());
    for (auto& vault : search) (void)vault->Store().Search(text.Query()); // first use: schema load
    SettleDisk();
    for (auto& vault : search) (void)TakePageCounts(vault->Db());
    Progress("(c) " + std::to_string(queries.size()) + " queries in each vault");
    std::array<Series, 2> search_time;
    watch.emplace();
    size_t differing = 0;
    size_t hits_returned = 0;
    for (size_t i = 0; i < queries.size(); ++i) {
        std::array<std::vector<storage::SearchHit>, 2> hits;
        for (const size_t slot : TurnOrder(i)) {
            auto& store = search[slot]->Store();
            search_time[slot].Add(Measure([&] { hits[slot] = store.Search(queries[i]); }));
        }
        hits_returned += hits[KEYED].size();
        bool same = hits[KEYED].size() == hits[PLAIN].size();
        for (size_t h = 0; same && h < hits[KEYED].size(); ++h) same = hits[KEYED][h].id == hits[PLAIN][h].id;
        if (!same) ++differing;
    }
    load.emplace_back("(c)", watch->OtherCores());
    pages = {TakePageCounts(search[KEYED]->Db()), TakePageCounts(search[PLAIN]->Db())};
    notes.push_back(DescribePages("(c) per query", pages, static_cast<double>(queries.size())));
    // How many narratives each query matches (not timed; the plain vault).
    double matched = 0;
    {
        auto count = search[PLAIN]->Db().Prepare("SELECT count(*) FROM search_index WHERE search_index MATCH ?");
        for (const auto& q : queries) {
            count.Bind(1, MatchExpression(q));
            if (count.Step()) matched += static_cast<double>(count.Int(0));
            count.Reset();
        }
        matched /= static_cast<double>(queries.size());
    }
    notes.push_back("(c) corpus: " + std::to_string(options.records) + " narratives, " +
                    std::to_string(corpus_bytes / options.records) + " bytes of text on average, vocabulary " +
                    std::to_string(text.VocabularySize()) + " word forms");
    char line[256];
    std::snprintf(line, sizeof line,
                  "(c) a query matches %.0f narratives on average (%.1f%%) and returns %.1f hits (limit 20); "
                  "results %s in both vaults",
                  matched, 100.0 * matched / static_cast<double>(options.records),
                  static_cast<double>(hits_returned) / static_cast<double>(queries.size()),
                  differing == 0 ? "identical" : "DIFFER");
    notes.push_back(line);
    std::snprintf(line, sizeof line,
                  "(c) filling the corpus (Import, keyed first; not in the table): keyed %.1f s, plain %.1f s, %.2fx",
                  corpus_time[KEYED].wall, corpus_time[PLAIN].wall, corpus_time[KEYED].wall / corpus_time[PLAIN].wall);
    notes.push_back(line);
    notes.push_back("(c) search vaults: keyed " + search[KEYED]->Sizes() + "; plain " + search[PLAIN]->Sizes());
    std::snprintf(line, sizeof line, "keyed vault.db starts with SQLite's plaintext header: %s; plain vault.db: %s",
                  keyed_hidden ? "no" : "YES", plain_plain ? "yes" : "NO");
    notes.push_back(line);
    search = VaultPair();
    std::string busy = "cores kept busy by other processes and kernel threads (own fsyncs included):";
    bool disturbed = false;
    for (const auto& [step, cores] : load) {
        char part[64];
        if (cores) std::snprintf(part, sizeof part, " %s %.2f", step.c_str(), *cores);
        else std::snprintf(part, sizeof part, " %s ?", step.c_str());
        busy += part;
        disturbed = disturbed || (cores && *cores > 0.25);
    }
    notes.push_back(busy + (disturbed ? "; DISTURBED, rerun on an idle machine" : "; quiet"));

    rows.push_back({"(a) autosave commit, mean", autosave[KEYED].MeanWall(), autosave[PLAIN].MeanWall()});
    rows.push_back(
        {"(a) autosave commit, median", autosave[KEYED].WallPercentile(0.5), autosave[PLAIN].WallPercentile(0.5)});
    rows.push_back({"(a) autosave commit, 95th percentile", autosave[KEYED].WallPercentile(0.95),
                    autosave[PLAIN].WallPercentile(0.95)});
    rows.push_back({"(a) autosave commit, CPU time mean", autosave[KEYED].MeanCpu(), autosave[PLAIN].MeanCpu()});
    rows.push_back({"(b) import " + std::to_string(options.records) + " records, mean of 2",
                    import_time[KEYED].MeanWall(), import_time[PLAIN].MeanWall(), "s", 1.0});
    rows.push_back({"(b) import, CPU time mean", import_time[KEYED].MeanCpu(), import_time[PLAIN].MeanCpu(), "s", 1.0});
    rows.push_back({"(c) search, mean per query", search_time[KEYED].MeanWall(), search_time[PLAIN].MeanWall()});
    rows.push_back(
        {"(c) search, median", search_time[KEYED].WallPercentile(0.5), search_time[PLAIN].WallPercentile(0.5)});
    rows.push_back({"(c) search, 95th percentile", search_time[KEYED].WallPercentile(0.95),
                    search_time[PLAIN].WallPercentile(0.95)});
    rows.push_back({"(c) search, CPU time mean", search_time[KEYED].MeanCpu(), search_time[PLAIN].MeanCpu()});
    PrintTable(rows);
    const double floor_ratio = import_time[KEYED].MeanWall() / floor.wall;
    light.push_back({"bulk import of " + std::to_string(options.records) + " records, keyed",
                     Format("%.1f s (%.0f rec/s); plain %.1f s; bare keyed floor %.1f s", import_time[KEYED].MeanWall(),
                            static_cast<double>(options.records) / import_time[KEYED].MeanWall(),
                            import_time[PLAIN].MeanWall(), floor.wall) +
                         Format("; import %.2fx the floor", floor_ratio),
                     "<= 1.5x the floor"});
    light.push_back({"50 edits of one 20 KB narrative before a sync",
                     Format("%.0f change(s) waiting; vault grew %.1f KB after a checkpoint (%.2fx the text), ",
                            static_cast<double>(narrative_changes), narrative_growth / 1e3,
                            narrative_growth / narrative_text) +
                         Format("%.1f KB with the WAL before it", narrative_with_wal / 1e3),
                     "1 change waiting; vault <= 3x the text"});
    light.push_back({"autosave commit, keyed / plain",
                     Format("%.2fx (mean), %.2fx (median)", autosave[KEYED].MeanWall() / autosave[PLAIN].MeanWall(),
                            autosave[KEYED].WallPercentile(0.5) / autosave[PLAIN].WallPercentile(0.5)),
                     "<= 1.3x"});
    light.push_back({"pages written per autosave of a 1.5-3 KB text",
                     Format("%.1f keyed, %.1f plain",
                            static_cast<double>(autosave_pages[0].written) / static_cast<double>(patches.size()),
                            static_cast<double>(autosave_pages[1].written) / static_cast<double>(patches.size())),
                     "<= 8"});
    light.push_back({"copies of each text in the vault",
                     "narrative " + DescribeCopies(narrative_copies) + "; autosaved note " + DescribeCopies(note_copies),
                     "1 in the body, the index external-content"});
    light.push_back({"changes waiting after " + std::to_string(patches.size()) + " autosaves of one note",
                     std::to_string(note_changes), "one per record per sync"});
    light.push_back({"vault size after the import, keyed, vs its JSON export",
                     Format("%.1f MB vs %.1f MB: %.2fx", static_cast<double>(imported_bytes) / 1e6,
                            static_cast<double>(export_bytes) / 1e6,
                            static_cast<double>(imported_bytes) / static_cast<double>(export_bytes)),
                     "<= 1.5x the export"});
    PrintLightTable(light);
    std::printf("\n");
    for (const auto& note : notes) std::printf("  %s\n", note.c_str());
    std::printf("\n  ratios: (a) autosave %.2fx (mean), (b) import %.2fx, (c) search %.2fx (mean)\n",
                autosave[KEYED].MeanWall() / autosave[PLAIN].MeanWall(),
                import_time[KEYED].MeanWall() / import_time[PLAIN].MeanWall(),
                search_time[KEYED].MeanWall() / search_time[PLAIN].MeanWall());
    return keyed_hidden && plain_plain && differing == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const auto options = ParseOptions(argc, argv);
        if (!options) return 0;
        return Run(*options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "escucha-bench-vault: %s\n", e.what());
        return 2;
    }
}

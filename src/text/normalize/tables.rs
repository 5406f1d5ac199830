//! Lookup tables for normalization: months, weekdays, abbreviations, acronyms, units, web
//! top-level domains and Roman-numeral contexts. Small static slices searched linearly; every
//! lookup is bounded by the table size, independent of input length.

/// Month from a full name or an abbreviation stem ("Nov", "Sept"). Case-sensitive first letter.
pub fn month(word: &str) -> Option<(&'static str, u32)> {
    const M: [(&str, &str, u32); 12] = [
        ("January", "Jan", 1),
        ("February", "Feb", 2),
        ("March", "Mar", 3),
        ("April", "Apr", 4),
        ("May", "May", 5),
        ("June", "Jun", 6),
        ("July", "Jul", 7),
        ("August", "Aug", 8),
        ("September", "Sep", 9),
        ("October", "Oct", 10),
        ("November", "Nov", 11),
        ("December", "Dec", 12),
    ];
    for (full, ab, n) in M {
        if word == full
            || word == ab
            || word.eq_ignore_ascii_case(full) && word.chars().all(|c| c.is_ascii_uppercase())
        {
            return Some((full, n));
        }
    }
    if word == "Sept" {
        return Some(("September", 9));
    }
    None
}

/// Month name by number 1..=12.
pub fn month_name(n: u32) -> Option<&'static str> {
    const N: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    N.get((n as usize).wrapping_sub(1)).copied()
}

/// Weekday from full name or abbreviation stem.
pub fn weekday(word: &str) -> Option<&'static str> {
    const W: [(&str, &[&str]); 7] = [
        ("Monday", &["Mon"]),
        ("Tuesday", &["Tue", "Tues"]),
        ("Wednesday", &["Wed"]),
        ("Thursday", &["Thu", "Thur", "Thurs"]),
        ("Friday", &["Fri"]),
        ("Saturday", &["Sat"]),
        ("Sunday", &["Sun"]),
    ];
    W.iter()
        .find(|(f, abs)| word == *f || abs.contains(&word))
        .map(|(f, _)| *f)
}

/// How an abbreviation behaves around its period.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbbrKind {
    /// Title before a name (Mr., Gen.): never ends a sentence.
    Title,
    /// Ordinary abbreviation (Inc., etc.): its period may also end the sentence.
    Plain,
}

/// Abbreviations that are unambiguous with their period. Context-dependent ones (Dr., St., No.,
/// Ft., states, weekdays) are decided in the rule code.
pub fn abbreviation(stem: &str) -> Option<(&'static str, AbbrKind)> {
    use AbbrKind::*;
    const A: &[(&str, &str, AbbrKind)] = &[
        ("Mr", "Mister", Title),
        ("Mrs", "Missus", Title),
        ("Ms", "Miz", Title),
        ("Messrs", "Messieurs", Title),
        ("Gen", "General", Title),
        ("Sen", "Senator", Title),
        ("Sens", "Senators", Title),
        ("Rep", "Representative", Title),
        ("Reps", "Representatives", Title),
        ("Gov", "Governor", Title),
        ("Lt", "Lieutenant", Title),
        ("Col", "Colonel", Title),
        ("Capt", "Captain", Title),
        ("Prof", "Professor", Title),
        ("Sgt", "Sergeant", Title),
        ("Cpl", "Corporal", Title),
        ("Pvt", "Private", Title),
        ("Maj", "Major", Title),
        ("Adm", "Admiral", Title),
        ("Cmdr", "Commander", Title),
        ("Rev", "Reverend", Title),
        ("Hon", "Honorable", Title),
        ("Pres", "President", Title),
        ("Supt", "Superintendent", Title),
        ("Atty", "Attorney", Title),
        ("Insp", "Inspector", Title),
        ("Det", "Detective", Title),
        ("Mt", "Mount", Title),
        ("Msgr", "Monsignor", Title),
        ("Fr", "Father", Title),
        ("vs", "versus", Title),
        ("v", "versus", Title),
        ("approx", "approximately", Title),
        ("Jr", "Junior", Plain),
        ("Sr", "Senior", Plain),
        ("Inc", "Incorporated", Plain),
        ("Corp", "Corporation", Plain),
        ("Ltd", "Limited", Plain),
        ("Co", "Company", Plain),
        ("Bros", "Brothers", Plain),
        ("Dept", "Department", Plain),
        ("Univ", "University", Plain),
        ("Assn", "Association", Plain),
        ("Intl", "International", Plain),
        ("Govt", "Government", Plain),
        ("etc", "et cetera", Plain),
        ("Ave", "Avenue", Plain),
        ("Blvd", "Boulevard", Plain),
        ("Rd", "Road", Plain),
        ("Hwy", "Highway", Plain),
        ("Ln", "Lane", Plain),
        ("Pkwy", "Parkway", Plain),
        ("Sq", "Square", Plain),
        ("Bldg", "Building", Plain),
        ("Ph", "P H", Plain),
        ("est", "estimated", Plain),
        ("Nos", "numbers", Title),
        ("Vol", "Volume", Title),
        ("vol", "volume", Title),
        ("pp", "pages", Title),
        ("Gens", "Generals", Title),
        ("Rt", "Right", Title),
    ];
    A.iter()
        .find(|(s, _, _)| *s == stem)
        .map(|(_, e, k)| (*e, *k))
}

/// British-style titles written without a period ("Mr Smith").
pub fn bare_title(word: &str) -> Option<&'static str> {
    match word {
        "Mr" => Some("Mister"),
        "Mrs" => Some("Missus"),
        "Ms" => Some("Miz"),
        "Dr" => Some("Doctor"),
        "Prof" => Some("Professor"),
        "St" => Some("Saint"),
        _ => None,
    }
}

/// AP state abbreviations, expanded only after a comma or in party labels ("D-Calif.").
pub fn state(stem: &str) -> Option<&'static str> {
    const S: &[(&str, &str)] = &[
        ("Ala", "Alabama"),
        ("Ariz", "Arizona"),
        ("Ark", "Arkansas"),
        ("Calif", "California"),
        ("Colo", "Colorado"),
        ("Conn", "Connecticut"),
        ("Del", "Delaware"),
        ("Fla", "Florida"),
        ("Ga", "Georgia"),
        ("Ill", "Illinois"),
        ("Ind", "Indiana"),
        ("Kan", "Kansas"),
        ("Ky", "Kentucky"),
        ("La", "Louisiana"),
        ("Md", "Maryland"),
        ("Mass", "Massachusetts"),
        ("Mich", "Michigan"),
        ("Minn", "Minnesota"),
        ("Miss", "Mississippi"),
        ("Mo", "Missouri"),
        ("Mont", "Montana"),
        ("Neb", "Nebraska"),
        ("Nev", "Nevada"),
        ("N.H", "New Hampshire"),
        ("N.J", "New Jersey"),
        ("N.M", "New Mexico"),
        ("N.Y", "New York"),
        ("N.C", "North Carolina"),
        ("N.D", "North Dakota"),
        ("Okla", "Oklahoma"),
        ("Ore", "Oregon"),
        ("Pa", "Pennsylvania"),
        ("R.I", "Rhode Island"),
        ("S.C", "South Carolina"),
        ("S.D", "South Dakota"),
        ("Tenn", "Tennessee"),
        ("Tex", "Texas"),
        ("Vt", "Vermont"),
        ("Va", "Virginia"),
        ("Wash", "Washington"),
        ("W.Va", "West Virginia"),
        ("Wis", "Wisconsin"),
        ("Wyo", "Wyoming"),
    ];
    S.iter().find(|(s, _)| *s == stem).map(|(_, e)| *e)
}

/// Acronyms read as words; output in title case ("NATO" → "Nato") so a synthesizer will not
/// spell them.
pub fn word_acronym(up: &str) -> bool {
    const W: &[&str] = &[
        "NATO",
        "NASA",
        "UNESCO",
        "UNICEF",
        "OPEC",
        "NAFTA",
        "COVID",
        "AIDS",
        "FIFA",
        "UEFA",
        "ASEAN",
        "SWAT",
        "LASER",
        "RADAR",
        "SCUBA",
        "NIMBY",
        "INTERPOL",
        "EUROPOL",
        "FEMA",
        "OSHA",
        "HAMAS",
        "ISIS",
        "DAESH",
        "NASDAQ",
        "SARS",
        "MERS",
        "CAPTCHA",
        "AWOL",
        "ICE",
        "CERN",
        "SEAL",
        "SEALS",
        "AIPAC",
        "ECOWAS",
        "BRICS",
        "APEC",
        "MERCOSUR",
        "POTUS",
        "SCOTUS",
        "FLOTUS",
        "DARPA",
        "NORAD",
        "CENTCOM",
        "PEPFAR",
        "MAGA",
        "DOGE",
        "COP",
        "UNRWA",
        "FRONTEX",
        "MOSSAD",
        "OFCOM",
        "OFGEM",
        "OFSTED",
        "UNIFIL",
        "UNAIDS",
        "GAVI",
        "TASS",
        "SPAC",
        "NEET",
        "YOLO",
        "FOMO",
        "PIN",
        "ZIP",
        "GIF",
        "ASAP",
        "TEDX",
        "TED",
        "WASP",
        "NOAA",
        "AMBER",
        "ANZAC",
        "SAG",
        "OPCW",
        "BAFTA",
        "OECD",
        "UNITA",
        "FARC",
        "ETA",
        "HEZBOLLAH",
        "TALIBAN",
        "CONMEBOL",
        "CONCACAF",
        "FRELIMO",
        "SWAPO",
        "ZANU",
        "NAMI",
        "MIT",
        "CAT",
        "DEFCON",
        "MIRV",
        "SONAR",
        "LIDAR",
        "QANON",
        "ANTIFA",
    ];
    // OECD and MIT are spelled by newsreaders despite the list membership above.
    !matches!(up, "OECD" | "MIT") && W.contains(&up)
}

/// Acronyms always spelled letter by letter, including long ones with vowels, and the short
/// ones recognised inside all-caps headlines.
pub fn spelled_acronym(up: &str) -> bool {
    const S: &[&str] = &[
        "US", "USA", "UK", "EU", "UN", "FBI", "CIA", "CEO", "CEOS", "BBC", "CNN", "NBC", "CBS",
        "ABC", "NPR", "GOP", "IMF", "WTO", "NHS", "IDF", "UAE", "DC", "NYC", "AI", "TV", "EV",
        "GDP", "CPI", "ECB", "IRS", "DOJ", "DHS", "DOD", "EPA", "FDA", "CDC", "NIH", "SEC", "FTC",
        "FCC", "FAA", "NTSB", "ICC", "ICJ", "IAEA", "NSA", "KGB", "FSB", "MP", "MPS", "PM", "MLB",
        "NBA", "NFL", "NHL", "PGA", "MVP", "IPO", "CFO", "COO", "CTO", "LGBTQ", "DNA", "RNA",
        "HIV", "ATM", "SUV", "USSR", "ANC", "IRA", "PLO", "PKK", "SDF", "RSF", "UNHCR", "USAID",
        "NYPD", "LAPD", "TSA", "DEA", "ATF", "UFO", "VIP", "BP", "HSBC", "IBM", "BMW", "ACLU",
        "NAACP", "NCAA", "OECD", "OSCE", "UNSC", "UNGA", "IRGC", "ESPN", "EUA", "AFP", "AP", "UPI",
        "NGO", "NGOS", "OAS", "AU", "WHO", "ER", "ICU", "MIT", "UCLA", "NYU", "LSE", "PSG", "AC",
        "FC", "BBQ", "PR", "HR", "IT", "ID", "IQ", "PC", "GMT", "UTC", "EST", "EDT", "PST", "PDT",
        "CST", "CDT", "BST", "CET", "CEST", "ET", "PT", "IOC", "IEA", "EIA", "ECHR", "ECJ", "EEA",
        "EEU", "SCO", "CSTO", "GCC", "ILO", "WFP", "UNDP", "UNEP", "WMO", "ICAO", "IPCC", "FIA",
        "ATP", "WTA", "NRA", "NAB", "RBI", "PBOC", "BOJ", "BOE", "FOMC", "CBO", "GAO", "OMB",
        "USDA", "HUD", "DOE", "DOT", "VA", "DOS", "OPM", "SBA", "NLRB", "EEOC", "FEC", "PBS",
        "ITV", "RTE", "CBC", "ABC", "SABC", "DW", "RFE", "AOC", "JFK", "LBJ", "FDR", "MLK", "RFK",
        "DUI", "DWI", "STD", "PTSD", "ADHD", "OCD", "ALS", "MS", "CT", "MRI", "EU", "FAQ", "URL",
        "USB", "PDF", "CD", "DVD", "LED", "LCD", "CPU", "GPU", "SMS", "GPS", "VPN", "API", "SUVS",
        "EVS", "IPOS", "ATMS", "UFOS",
    ];
    S.contains(&up)
}

/// Unit abbreviations (written right after a number): (abbr, singular, plural).
pub fn unit(abbr: &str) -> Option<(&'static str, &'static str)> {
    const U: &[(&str, &str, &str)] = &[
        ("km", "kilometer", "kilometers"),
        ("m", "meter", "meters"),
        ("cm", "centimeter", "centimeters"),
        ("mm", "millimeter", "millimeters"),
        ("mi", "mile", "miles"),
        ("ft", "foot", "feet"),
        ("yd", "yard", "yards"),
        ("yds", "yard", "yards"),
        ("kg", "kilogram", "kilograms"),
        ("kgs", "kilogram", "kilograms"),
        ("g", "gram", "grams"),
        ("mg", "milligram", "milligrams"),
        ("lb", "pound", "pounds"),
        ("lbs", "pound", "pounds"),
        ("oz", "ounce", "ounces"),
        ("mph", "mile per hour", "miles per hour"),
        ("kph", "kilometer per hour", "kilometers per hour"),
        ("kmh", "kilometer per hour", "kilometers per hour"),
        ("km/h", "kilometer per hour", "kilometers per hour"),
        ("°C", "degree Celsius", "degrees Celsius"),
        ("°F", "degree Fahrenheit", "degrees Fahrenheit"),
        ("ºC", "degree Celsius", "degrees Celsius"),
        ("ºF", "degree Fahrenheit", "degrees Fahrenheit"),
        ("℃", "degree Celsius", "degrees Celsius"),
        ("℉", "degree Fahrenheit", "degrees Fahrenheit"),
        ("°", "degree", "degrees"),
        ("º", "degree", "degrees"),
        ("km²", "square kilometer", "square kilometers"),
        ("m²", "square meter", "square meters"),
        ("mi²", "square mile", "square miles"),
        ("ft²", "square foot", "square feet"),
        ("m³", "cubic meter", "cubic meters"),
        ("ha", "hectare", "hectares"),
        ("L", "liter", "liters"),
        ("l", "liter", "liters"),
        ("ml", "milliliter", "milliliters"),
        ("mL", "milliliter", "milliliters"),
        ("KB", "kilobyte", "kilobytes"),
        ("kB", "kilobyte", "kilobytes"),
        ("MB", "megabyte", "megabytes"),
        ("GB", "gigabyte", "gigabytes"),
        ("TB", "terabyte", "terabytes"),
        ("kW", "kilowatt", "kilowatts"),
        ("MW", "megawatt", "megawatts"),
        ("GW", "gigawatt", "gigawatts"),
        ("kWh", "kilowatt hour", "kilowatt hours"),
        ("MWh", "megawatt hour", "megawatt hours"),
        ("GWh", "gigawatt hour", "gigawatt hours"),
        ("TWh", "terawatt hour", "terawatt hours"),
        ("Hz", "hertz", "hertz"),
        ("kHz", "kilohertz", "kilohertz"),
        ("MHz", "megahertz", "megahertz"),
        ("GHz", "gigahertz", "gigahertz"),
        ("mpg", "mile per gallon", "miles per gallon"),
        ("bpd", "barrel per day", "barrels per day"),
        ("ms", "millisecond", "milliseconds"),
        ("min", "minute", "minutes"),
        ("mins", "minute", "minutes"),
        ("hr", "hour", "hours"),
        ("hrs", "hour", "hours"),
        ("sec", "second", "seconds"),
        ("secs", "second", "seconds"),
        ("kt", "knot", "knots"),
        ("kts", "knot", "knots"),
        ("p", "penny", "pence"),
        ("kbps", "kilobit per second", "kilobits per second"),
        ("Mbps", "megabit per second", "megabits per second"),
        ("Gbps", "gigabit per second", "gigabits per second"),
        ("mAh", "milliamp hour", "milliamp hours"),
        ("cc", "cc", "cc"),
        ("¢", "cent", "cents"),
    ];
    U.iter()
        .find(|(a, _, _)| *a == abbr)
        .map(|(_, s, p)| (*s, *p))
}

/// Units that need a following second word: "sq mi" / "sq. km".
pub fn square_unit(abbr: &str) -> Option<(&'static str, &'static str)> {
    match abbr {
        "mi" | "mi." => Some(("square mile", "square miles")),
        "km" | "km." => Some(("square kilometer", "square kilometers")),
        "ft" | "ft." => Some(("square foot", "square feet")),
        "m" | "m." => Some(("square meter", "square meters")),
        "yd" | "yd." => Some(("square yard", "square yards")),
        _ => None,
    }
}

/// Scale words after a money amount and their short suffixes ("bn", "m", "k").
pub fn scale_word(w: &str) -> Option<&'static str> {
    match w {
        "thousand" | "k" | "K" => Some("thousand"),
        "million" | "m" | "M" | "mn" | "mln" => Some("million"),
        "billion" | "bn" | "b" | "B" | "bln" => Some("billion"),
        "trillion" | "tn" | "T" | "trn" => Some("trillion"),
        _ => None,
    }
}

/// Nouns that mark a preceding 4-digit number as a count, not a year.
pub fn count_noun(w: &str) -> bool {
    const C: &[&str] = &[
        "people",
        "persons",
        "cases",
        "deaths",
        "troops",
        "soldiers",
        "residents",
        "homes",
        "houses",
        "jobs",
        "votes",
        "members",
        "units",
        "points",
        "words",
        "times",
        "students",
        "employees",
        "workers",
        "children",
        "patients",
        "civilians",
        "fighters",
        "refugees",
        "migrants",
        "prisoners",
        "hostages",
        "tons",
        "tonnes",
        "barrels",
        "acres",
        "feet",
        "miles",
        "meters",
        "metres",
        "kilometers",
        "kilometres",
        "pounds",
        "dollars",
        "euros",
        "vehicles",
        "cars",
        "flights",
        "passengers",
        "visitors",
        "protesters",
        "arrests",
        "pages",
        "delegates",
        "seats",
        "copies",
        "tickets",
        "users",
        "followers",
        "views",
        "signatures",
        "rockets",
        "missiles",
        "drones",
        "shells",
        "calories",
        "steps",
        "hours",
        "minutes",
        "days",
        "weeks",
        "years",
        "of",
        "more",
        "others",
        "staff",
        "officers",
        "police",
        "tanks",
        "buildings",
        "companies",
        "schools",
        "hospitals",
        "villages",
        "households",
        "families",
        "individuals",
        "applications",
        "complaints",
        "items",
    ];
    C.contains(&w)
}

/// Words right before a 4-digit number that make it a year.
pub fn year_cue(w: &str) -> bool {
    const Y: &[&str] = &[
        "in",
        "since",
        "by",
        "from",
        "until",
        "till",
        "til",
        "of",
        "during",
        "before",
        "after",
        "early",
        "late",
        "mid",
        "circa",
        "c.",
        "year",
        "summer",
        "winter",
        "spring",
        "autumn",
        "fall",
        "season",
        "through",
        "throughout",
        "between",
        "and",
        "to",
        "or",
        "the",
        "class",
        "election",
        "budget",
        "fiscal",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "around",
        "for",
        "last",
        "until",
        "back",
        "as",
        "ending",
        "start",
        "end",
        "beginning",
    ];
    Y.contains(&w)
}

/// Words right before a 4-digit number that make it a count.
pub fn count_cue(w: &str) -> bool {
    const C: &[&str] = &[
        "than",
        "about",
        "approximately",
        "nearly",
        "almost",
        "roughly",
        "some",
        "over",
        "under",
        "least",
        "just",
        "only",
        "total",
        "totaling",
        "totalling",
        "estimated",
        "additional",
        "another",
        "extra",
        "those",
        "these",
        "all",
        "with",
        "were",
        "are",
        "killed",
        "injured",
        "wounded",
        "arrested",
        "employs",
        "employed",
        "hired",
        "cut",
        "page",
        "room",
        "flight",
        "route",
        "bus",
        "number",
        "no.",
        "code",
        "model",
        "channel",
    ];
    C.contains(&w)
}

/// Words before a Roman numeral that take the cardinal reading ("World War Two").
pub fn roman_cardinal_cue(w: &str) -> bool {
    const R: &[&str] = &[
        "war", "chapter", "part", "act", "phase", "volume", "vol.", "book", "title", "type",
        "class", "stage", "article", "section", "bowl", "apollo", "vatican", "mark", "grade",
        "level", "category", "schedule", "appendix", "annex", "round", "episode", "season",
        "gemini", "scene", "canto", "psalm", "movement", "division", "league", "tier", "group",
        "formula", "pillar", "protocol", "rocky", "tranche", "reactor",
    ];
    R.contains(&w)
}

/// Names and titles before which a Roman numeral is a regnal number ("Henry the Eighth").
pub fn regnal_cue(w: &str) -> bool {
    const R: &[&str] = &[
        "king",
        "queen",
        "pope",
        "emperor",
        "empress",
        "tsar",
        "czar",
        "tsarina",
        "prince",
        "princess",
        "kaiser",
        "pharaoh",
        "sultan",
        "shah",
        "duke",
        "henry",
        "elizabeth",
        "charles",
        "george",
        "edward",
        "william",
        "richard",
        "james",
        "john",
        "paul",
        "leo",
        "benedict",
        "pius",
        "gregory",
        "innocent",
        "clement",
        "alexander",
        "frederick",
        "philip",
        "ramses",
        "rameses",
        "napoleon",
        "mary",
        "catherine",
        "peter",
        "ivan",
        "nicholas",
        "constantine",
        "felipe",
        "carlos",
        "gustaf",
        "harald",
        "olav",
        "haakon",
        "willem",
        "rainier",
        "albert",
        "louis",
        "ludwig",
        "wilhelm",
        "friedrich",
        "victor",
        "emmanuel",
        "mohammed",
        "muhammad",
        "abdullah",
        "hussein",
        "selassie",
        "francis",
        "urban",
        "boniface",
        "sixtus",
        "julius",
        "stephen",
        "malcolm",
        "david",
        "robert",
        "alfonso",
        "juan",
        "ferdinand",
        "isabella",
        "margrethe",
        "christian",
        "frederik",
        "carl",
        "hamad",
        "bhumibol",
        "rama",
        "thutmose",
        "amenhotep",
        "king's",
    ];
    R.contains(&w)
}

/// Words that usually open a sentence; a capitalized one right after an abbreviation's
/// period means the period also ended the sentence.
pub fn sentence_starter(w: &str) -> bool {
    const S: &[&str] = &[
        "the",
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "but",
        "and",
        "in",
        "a",
        "an",
        "this",
        "that",
        "its",
        "his",
        "her",
        "their",
        "there",
        "on",
        "at",
        "as",
        "after",
        "when",
        "while",
        "however",
        "meanwhile",
        "officials",
        "police",
        "some",
        "many",
        "both",
        "then",
        "also",
        "yet",
        "so",
        "if",
        "for",
        "with",
        "what",
        "who",
        "where",
        "why",
        "how",
        "our",
        "my",
        "you",
        "those",
        "these",
        "no",
        "not",
        "still",
        "last",
        "earlier",
        "later",
        "since",
        "until",
        "during",
        "before",
        "by",
        "from",
        "one",
        "two",
        "three",
        "others",
        "shares",
        "analysts",
        "critics",
        "experts",
        "residents",
        "he's",
        "she's",
        "it's",
    ];
    S.contains(&w)
}

/// Function words that do not count as part of a name for "St." / "Dr." decisions.
pub fn function_word(w: &str) -> bool {
    const F: &[&str] = &[
        "the", "a", "an", "in", "on", "at", "of", "to", "from", "by", "for", "with", "and", "or",
        "but", "near", "into", "onto", "off", "via", "visit", "visited", "said", "says", "told",
        "says", "like", "as", "this", "that", "his", "her", "their", "our", "its",
    ];
    F.contains(&w)
}

/// Country-code / generic TLDs that are spelled when reading a web address.
pub fn spelled_tld(label: &str) -> bool {
    label.len() == 2 && label.bytes().all(|b| b.is_ascii_alphabetic()) && label != "co"
}

/// Known TLDs for recognising bare domains such as "example.com".
pub fn known_tld(label: &str) -> bool {
    const T: &[&str] = &[
        "com", "org", "net", "gov", "edu", "io", "co", "uk", "us", "de", "fr", "eu", "info", "biz",
        "ai", "app", "dev", "news", "tv", "me", "ca", "au", "in", "il", "ua", "ru", "int", "mil",
        "jp", "cn", "it", "es", "nl", "ch", "se", "no", "ie", "nz", "za", "br", "mx", "org.uk",
        "ly", "gg", "xyz", "online", "site", "tech",
    ];
    T.contains(&label)
}

/// Ordinary short English words written in capitals that look like Roman numerals or
/// acronyms and must stay words (checked before any numeral reading).
pub fn caps_word_not_numeral(up: &str) -> bool {
    const W: &[&str] = &[
        "MIX", "DC", "CIVIL", "DID", "LID", "MID", "DIM", "MILD", "CLIMB", "LIVID", "VIVID", "MD",
        "CD", "CV", "LI", "MI", "DI", "CC", "CLI", "XL", "XXL", "MCC", "DIV", "MCM", "LIV", "MIL",
        "CID", "DIX", "MIDI", "MM", "DL", "ML", "CM", "DM",
    ];
    W.contains(&up)
}

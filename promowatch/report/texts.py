"""The words of a case report in French, German and English. Neutral: facts and thresholds, no verdicts."""

from __future__ import annotations

LANGUAGES = ("fr", "de", "en")

_TEXTS: dict[str, dict[str, str]] = {
    "title": {"fr": "Dossier de constat", "de": "Fallakte", "en": "Case file"},
    "advertised": {"fr": "Ce qui a été annoncé", "de": "Was beworben wurde", "en": "What was advertised"},
    "finding": {"fr": "Constat", "de": "Feststellung", "en": "Finding"},
    "chart": {"fr": "Chronologie", "de": "Zeitverlauf", "en": "Timeline"},
    "evidence": {"fr": "Pièces", "de": "Belege", "en": "Evidence"},
    "coverage": {"fr": "Couverture des données", "de": "Datenabdeckung", "en": "Data coverage"},
    "limitations": {"fr": "Limites", "de": "Grenzen", "en": "Limitations"},
    "verify": {"fr": "Comment vérifier", "de": "Wie man prüft", "en": "How to verify"},
    "product": {"fr": "Produit", "de": "Produkt", "en": "Product"},
    "retailer": {"fr": "Commerçant", "de": "Händler", "en": "Retailer"},
    "advertised_price": {"fr": "Prix annoncé", "de": "Beworbener Preis", "en": "Advertised price"},
    "reference_price": {"fr": "Prix de référence", "de": "Vergleichspreis", "en": "Reference price"},
    "validity": {"fr": "Validité", "de": "Gültigkeit", "en": "Validity"},
    "basis_stated": {
        "fr": "début indiqué par l'annonce",
        "de": "Beginn laut Anzeige",
        "en": "start stated by the ad",
    },
    "basis_listing": {
        "fr": "début indiqué par la page des promotions",
        "de": "Beginn laut Aktionsseite",
        "en": "start stated by the promotions page",
    },
    "basis_sighting": {
        "fr": "sans début indiqué : dès la première observation de l'annonce",
        "de": "ohne angegebenen Beginn: ab der ersten Sichtung der Anzeige",
        "en": "no start stated: from the ad's first sighting",
    },
    "basis_entered": {"fr": "saisie manuelle", "de": "von Hand erfasst", "en": "entered by hand"},
    "first_seen": {"fr": "vue pour la première fois", "de": "zuerst gesehen", "en": "first seen"},
    "ad_sources": {"fr": "Sources publicitaires", "de": "Werbequellen", "en": "Ad sources"},
    "rule": {"fr": "Règle", "de": "Regel", "en": "Rule"},
    "state": {"fr": "État", "de": "Status", "en": "State"},
    "opened": {"fr": "Ouvert le", "de": "Eröffnet am", "en": "Opened"},
    "closed": {"fr": "Clos le", "de": "Geschlossen am", "en": "Closed"},
    "inputs": {
        "fr": "Paramètres et mesures",
        "de": "Parameter und Messwerte",
        "en": "Inputs and measurements",
    },
    "channel": {"fr": "Canal", "de": "Kanal", "en": "Channel"},
    "first": {"fr": "Première", "de": "Erste", "en": "First"},
    "last": {"fr": "Dernière", "de": "Letzte", "en": "Last"},
    "count": {"fr": "Nombre", "de": "Anzahl", "en": "Count"},
    "unknown_share": {"fr": "Part inconnue", "de": "Anteil unbekannt", "en": "Unknown share"},
    "time": {"fr": "Heure (UTC)", "de": "Zeit (UTC)", "en": "Time (UTC)"},
    "observation": {"fr": "Observation", "de": "Beobachtung", "en": "Observation"},
    "value": {"fr": "Valeur", "de": "Wert", "en": "Value"},
    "capture": {"fr": "Capture (SHA-256)", "de": "Aufnahme (SHA-256)", "en": "Capture (SHA-256)"},
    "software": {"fr": "Logiciel", "de": "Software", "en": "Software"},
    "generated": {"fr": "Établi le", "de": "Erstellt am", "en": "Generated"},
    "more_rows": {
        "fr": "autres observations dans observations.jsonl",
        "de": "weitere Beobachtungen in observations.jsonl",
        "en": "more observations in observations.jsonl",
    },
    "verify_text": {
        "fr": "Chaque fichier de ce dossier est listé avec son empreinte SHA-256 dans manifest-sha256.txt "
        "(vérifiable avec « sha256sum -c manifest-sha256.txt »). Les réponses HTTP brutes sont dans "
        "evidence.warc.gz ; chaque observation cite l'empreinte de sa capture. chain.jsonl contient "
        "les maillons de la chaîne de hachage qui couvrent ces observations. VERIFY.md décrit la "
        "vérification pas à pas.",
        "de": "Jede Datei dieser Akte ist mit ihrem SHA-256-Hash in manifest-sha256.txt aufgeführt "
        "(prüfbar mit «sha256sum -c manifest-sha256.txt»). Die rohen HTTP-Antworten liegen in "
        "evidence.warc.gz; jede Beobachtung nennt den Hash ihrer Aufnahme. chain.jsonl enthält die "
        "Glieder der Hash-Kette, die diese Beobachtungen abdecken. VERIFY.md beschreibt die Prüfung "
        "Schritt für Schritt.",
        "en": "Every file of this case is listed with its SHA-256 in manifest-sha256.txt (check it with "
        "'sha256sum -c manifest-sha256.txt'). The raw HTTP responses are in evidence.warc.gz; each "
        "observation cites the hash of its capture. chain.jsonl holds the links of the hash chain "
        "that cover these observations. VERIFY.md describes the check step by step.",
    },
    # limitations
    "lim_sampling": {
        "fr": "Les observations sont des sondages à intervalles : entre deux observations, l'état n'est pas connu.",
        "de": "Die Beobachtungen sind Stichproben in Abständen: Zwischen zwei Beobachtungen ist der Zustand "
        "nicht bekannt.",
        "en": "Observations are samples taken at intervals: the state between two observations is not known.",
    },
    "lim_unknown": {
        "fr": "Une observation « inconnue » (erreur, blocage, page ambiguë) ne compte ni pour ni contre le constat.",
        "de": "Eine «unbekannte» Beobachtung (Fehler, Sperre, mehrdeutige Seite) zählt weder für noch gegen die "
        "Feststellung.",
        "en": "An 'unknown' observation (error, block, ambiguous page) counts neither for nor against the finding.",
    },
    "lim_context": {
        "fr": "Le nom et l'adresse des magasins proviennent de la liste du commerçant et ne font pas partie de la "
        "chaîne de hachage.",
        "de": "Name und Adresse der Filialen stammen aus der Filialliste des Händlers und sind nicht Teil der "
        "Hash-Kette.",
        "en": "Store names and addresses come from the retailer's store list and are not part of the hash chain.",
    },
    "lim_missing": {
        "fr": "Captures introuvables lors de l'export :",
        "de": "Beim Export nicht gefundene Aufnahmen:",
        "en": "Captures not found at export:",
    },
    "lim_no_stores": {
        "fr": "Aucune observation de stock en magasin.",
        "de": "Keine Beobachtung des Filialbestands.",
        "en": "No store stock observation.",
    },
    # chart
    "chart_title": {
        "fr": "Prix, commande en ligne et stock en magasin",
        "de": "Preis, Online-Bestellbarkeit und Filialbestand",
        "en": "Price, online orderability and store stock",
    },
    "observed_price": {"fr": "Prix observé", "de": "Beobachteter Preis", "en": "Observed price"},
    "orderable": {"fr": "Commandable", "de": "Bestellbar", "en": "Orderable"},
    "orderable_true": {"fr": "oui", "de": "ja", "en": "yes"},
    "orderable_false": {"fr": "non", "de": "nein", "en": "no"},
    "orderable_none": {"fr": "inconnu", "de": "unbekannt", "en": "unknown"},
    "stores_zero": {"fr": "% magasins sans stock", "de": "% Filialen ohne Bestand", "en": "% stores at zero"},
    "no_data": {"fr": "Aucune observation", "de": "Keine Beobachtungen", "en": "No observations"},
    # channels
    "online": {"fr": "en ligne", "de": "online", "en": "online"},
    "stores": {"fr": "magasins", "de": "Filialen", "en": "stores"},
    "ads": {"fr": "publicités", "de": "Werbung", "en": "ads"},
}

# Neutral one-line statements of what each rule measured; {figures} is filled from the finding's inputs.
RULE_STATEMENTS: dict[str, dict[str, str]] = {
    "unorderable_online": {
        "fr": "Pendant la promotion, le produit n'a pas pu être commandé en ligne lors de {n_offer} "
        "observations entre {first} et {last}.",
        "de": "Während der Aktion war das Produkt bei {n_offer} Beobachtungen zwischen {first} und {last} "
        "online nicht bestellbar.",
        "en": "During the promotion, the product could not be ordered online in {n_offer} observations "
        "between {first} and {last}.",
    },
    "store_stockout": {
        "fr": "Au début de la promotion, jusqu'à {max_share} des magasins observés lors d'un passage n'avaient "
        "pas de stock ({n_store} observations de magasins entre {first} et {last}).",
        "de": "Zu Beginn der Aktion hatten bei einem Durchgang bis zu {max_share} der beobachteten Filialen keinen "
        "Bestand ({n_store} Filialbeobachtungen zwischen {first} und {last}).",
        "en": "At the start of the promotion, up to {max_share} of the stores observed in one crawl had no stock "
        "({n_store} store observations between {first} and {last}).",
    },
    "store_sellout": {
        "fr": "Pendant que la promotion était encore annoncée, jusqu'à {max_share} des magasins observés lors d'un "
        "passage n'avaient plus de stock ({n_store} observations de magasins entre {first} et {last}).",
        "de": "Während die Aktion noch beworben wurde, hatten bei einem Durchgang bis zu {max_share} der beobachteten "
        "Filialen keinen Bestand mehr ({n_store} Filialbeobachtungen zwischen {first} und {last}).",
        "en": "While the promotion was still advertised, up to {max_share} of the stores observed in one crawl had "
        "no stock left ({n_store} store observations between {first} and {last}).",
    },
    "price_mismatch": {
        "fr": "Pendant la promotion, le prix observé en ligne différait du prix annoncé lors de {n_offer} "
        "observations entre {first} et {last}.",
        "de": "Während der Aktion wich der online beobachtete Preis bei {n_offer} Beobachtungen zwischen "
        "{first} und {last} vom beworbenen Preis ab.",
        "en": "During the promotion, the price observed online differed from the advertised price in "
        "{n_offer} observations between {first} and {last}.",
    },
}
_GENERIC = {
    "fr": "La règle {rule} a constaté la situation décrite dans les paramètres ci-dessous ({n_offer} observations "
    "en ligne, {n_store} en magasin, entre {first} et {last}).",
    "de": "Die Regel {rule} hat den unten beschriebenen Sachverhalt festgestellt ({n_offer} Online- und "
    "{n_store} Filialbeobachtungen zwischen {first} und {last}).",
    "en": "The rule {rule} measured the situation described by the inputs below ({n_offer} online and "
    "{n_store} store observations between {first} and {last}).",
}


def _language(language: str) -> str:
    return language if language in LANGUAGES else "en"


def label(key: str, language: str) -> str:
    """A label in ``language`` (English when the language is not covered)."""
    return _TEXTS[key][_language(language)]


def rule_statement(rule: str, language: str, **figures: str) -> str:
    """The neutral sentence stating what ``rule`` measured, with figures."""
    template = RULE_STATEMENTS.get(rule, {}).get(_language(language)) or _GENERIC[_language(language)]
    return template.format(rule=rule, **figures)

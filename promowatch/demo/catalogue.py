"""What the demo shop sells and where its stores are: pure data, no time and no HTTP.

How a product looks on a given simulated day (price, stock, promotion) is in :mod:`promowatch.demo.scenarios`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum


class OnlineStock(StrEnum):
    """The shop's own online stock states; each has its stock line and decides the add-to-cart button."""

    IN_STOCK = "in_stock"
    LIMITED = "limited"
    SOLD_OUT = "sold_out"
    NOT_ONLINE = "not_online"
    STORE_ONLY = "store_only"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def orderable(self) -> bool:
        return self in (OnlineStock.IN_STOCK, OnlineStock.LIMITED)

    @property
    def schema_org(self) -> str:
        """The schema.org ItemAvailability a shop would put in its JSON-LD for this state."""
        return _SCHEMA[self]


_LABELS = {
    OnlineStock.IN_STOCK: "En stock",
    OnlineStock.LIMITED: "Plus que 3 articles",
    OnlineStock.SOLD_OUT: "Épuisé",
    OnlineStock.NOT_ONLINE: "Actuellement pas disponible en ligne",
    OnlineStock.STORE_ONLY: "Disponible uniquement en magasin",
}
_SCHEMA = {
    OnlineStock.IN_STOCK: "https://schema.org/InStock",
    OnlineStock.LIMITED: "https://schema.org/LimitedAvailability",
    OnlineStock.SOLD_OUT: "https://schema.org/OutOfStock",
    OnlineStock.NOT_ONLINE: "https://schema.org/OutOfStock",
    OnlineStock.STORE_ONLY: "https://schema.org/InStoreOnly",
}
DELIVERY_TEXT = "Livraison en 1 à 2 jours ouvrables"


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    subcategories: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/c/{self.slug}"


@dataclass(frozen=True)
class Phase:
    """An override of a product's state over an inclusive range of simulated days; later phases win."""

    first_day: int
    last_day: int
    price: Decimal | None = None
    regular_price: Decimal | None = None  # the "au lieu de" price shown next to the price
    online: OnlineStock | None = None
    store_zero_share: float | None = None  # share of stores with nothing left
    # a rolling delivery promise: the working days promised grow by this many each day of the phase
    delivery_growth: int | None = None


@dataclass(frozen=True)
class Promotion:
    """What the promotions page advertises for a product, over an inclusive range of simulated days."""

    first_day: int
    last_day: int
    price: Decimal
    regular_price: Decimal | None


@dataclass(frozen=True)
class Product:
    sku: str
    slug: str
    title: str
    brand: str
    category: str
    gtin: str
    price: Decimal  # the price charged when no phase says otherwise
    online: OnlineStock = OnlineStock.IN_STOCK
    store_zero_share: float = 0.1
    phases: tuple[Phase, ...] = ()
    promotion: Promotion | None = None
    jsonld_availability: str | None = "mirror"  # "mirror" the page, a fixed schema.org URL, or None: omit
    live_stock: bool = False  # stock line, buy button and store widget are filled by JavaScript
    hydration_ms: int = 400  # how long the live script waits after DOMContentLoaded before asking for stock
    rating: tuple[float, int] = (4.3, 57)
    features: tuple[str, ...] = ()
    specs: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    bench_index: int | None = None  # synthetic bench products live at /p/bench-{i}

    @property
    def path(self) -> str:
        if self.bench_index is not None:
            live = "live-" if self.live_stock else ""
            return f"/p/bench-{live}{self.bench_index}"
        return f"/p/{self.slug}-{self.sku}"


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    postcode: str
    city: str
    latitude: float
    longitude: float


def ean13(first12: str) -> str:
    """Complete a 12-digit prefix with its EAN-13 check digit, so the shop's GTINs are valid."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


CATEGORIES: tuple[Category, ...] = (
    Category(
        "machines-a-cafe",
        "Machines à café",
        (
            "Machines à café automatiques",
            "Machines à capsules",
            "Machines à piston",
            "Moulins à café",
            "Détartrants & accessoires",
        ),
    ),
    Category(
        "cuisine-menage",
        "Cuisine & ménage",
        (
            "Friteuses à air chaud",
            "Poêles & casseroles",
            "Bouilloires",
            "Robots de cuisine",
            "Carafes filtrantes",
            "Grille-pain",
        ),
    ),
    Category(
        "son-image",
        "Son & image",
        ("Casques & écouteurs", "Enceintes Bluetooth", "Téléviseurs", "Barres de son", "Hi-Fi"),
    ),
    Category(
        "informatique",
        "Informatique & tablettes",
        ("Tablettes", "Ordinateurs portables", "Souris & claviers", "Écrans", "Stockage", "Imprimantes"),
    ),
    Category(
        "maison-jardin",
        "Maison & jardin",
        ("Aspirateurs", "Éclairage connecté", "Outillage", "Jardin", "Climatisation"),
    ),
)


def _specs(*pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(zip(pairs[::2], pairs[1::2], strict=True))


D = Decimal
SCENARIO_DAYS = 14

PRODUCTS: tuple[Product, ...] = (
    # (a) the bait: 549.– before, then "499.– au lieu de 999.–" that nobody can buy
    Product(
        sku="7184530",
        slug="delonghi-magnifica-s-ecam-22-110-b",
        title="De'Longhi Magnifica S ECAM 22.110.B",
        brand="De'Longhi",
        category="machines-a-cafe",
        gtin=ean13("800439932574"),
        price=D("549"),
        online=OnlineStock.STORE_ONLY,
        store_zero_share=0.3,
        phases=(
            Phase(
                3,
                13,
                price=D("499"),
                regular_price=D("999"),
                online=OnlineStock.NOT_ONLINE,
                store_zero_share=0.94,
            ),
            # back online while the stores stay empty, but each day it promises delivery three working days
            # later than the day before: it can be ordered, not delivered
            Phase(9, 13, online=OnlineStock.IN_STOCK, delivery_growth=3),
        ),
        promotion=Promotion(3, 13, D("499"), D("999")),
        rating=(4.4, 312),
        features=(
            "Broyeur conique en acier à 13 niveaux",
            "Buse vapeur pour cappuccino",
            "Réservoir d'eau amovible de 1,8 l",
            "Programme de détartrage automatique",
        ),
        specs=_specs(
            "Pression",
            "15 bar",
            "Puissance",
            "1450 W",
            "Réservoir d'eau",
            "1,8 l",
            "Réservoir à grains",
            "250 g",
            "Dimensions (L x H x P)",
            "23,8 x 35,1 x 43 cm",
            "Poids",
            "9 kg",
            "Couleur",
            "Noir",
            "Garantie",
            "2 ans",
        ),
    ),
    # (b) sold out on day 2, restocked on day 6, promotion all fortnight
    Product(
        sku="7201846",
        slug="philips-airfryer-xxl-hd9650-90",
        title="Philips Airfryer XXL HD9650/90",
        brand="Philips",
        category="cuisine-menage",
        gtin=ean13("871010389876"),
        price=D("299"),
        store_zero_share=0.06,
        phases=(
            Phase(0, 13, price=D("199"), regular_price=D("299")),
            Phase(2, 5, online=OnlineStock.SOLD_OUT, store_zero_share=0.96),
        ),
        promotion=Promotion(0, 13, D("199"), D("299")),
        rating=(4.6, 1204),
        features=(
            "Technologie Fat Removal",
            "Capacité 1,4 kg / 7,3 l",
            "Écran tactile numérique",
            "Compatible lave-vaisselle",
        ),
        specs=_specs(
            "Capacité",
            "7,3 l",
            "Puissance",
            "2225 W",
            "Température",
            "40–200 °C",
            "Programmes",
            "5",
            "Dimensions (L x H x P)",
            "43,3 x 31,5 x 32,1 cm",
            "Poids",
            "8,3 kg",
            "Garantie",
            "2 ans",
        ),
    ),
    # (c) an honest promotion: 349.– charged for ten days, then 279.– au lieu de 349.–
    Product(
        sku="7139027",
        slug="sony-wh-1000xm5-casque-sans-fil",
        title="Sony WH-1000XM5 casque sans fil à réduction de bruit",
        brand="Sony",
        category="son-image",
        gtin=ean13("454854893734"),
        price=D("349"),
        store_zero_share=0.04,
        phases=(Phase(10, 13, price=D("279"), regular_price=D("349")),),
        promotion=Promotion(10, 13, D("279"), D("349")),
        rating=(4.7, 866),
        features=(
            "Réduction de bruit active",
            "Autonomie de 30 heures",
            "Charge rapide USB-C",
            "Multipoint Bluetooth 5.2",
        ),
        specs=_specs(
            "Type",
            "Circum-auriculaire",
            "Autonomie",
            "30 h",
            "Bluetooth",
            "5.2",
            "Codecs",
            "SBC, AAC, LDAC",
            "Poids",
            "250 g",
            "Couleur",
            "Noir",
            "Garantie",
            "2 ans",
        ),
    ),
    # (d) the promotions page says 49.90, the product page charges 59.90
    Product(
        sku="7166402",
        slug="tefal-ingenio-essential-set-de-poeles-3-pieces",
        title="Tefal Ingenio Essential set de poêles 3 pièces",
        brand="Tefal",
        category="cuisine-menage",
        gtin=ean13("301017891820"),
        price=D("79.90"),
        store_zero_share=0.1,
        phases=(Phase(0, 13, price=D("59.90"), regular_price=D("79.90")),),
        promotion=Promotion(0, 13, D("49.90"), D("79.90")),
        rating=(4.2, 98),
        features=("Poignée amovible", "Revêtement antiadhésif", "Compatible four jusqu'à 250 °C"),
        specs=_specs(
            "Pièces",
            "3",
            "Diamètres",
            "22 / 26 cm + poignée",
            "Induction",
            "Non",
            "Lave-vaisselle",
            "Oui",
            "Garantie",
            "2 ans",
        ),
    ),
    # (e) the stock line and store widget only exist once JavaScript has asked the stock API
    Product(
        sku="7212375",
        slug="samsung-galaxy-tab-s9-fe-128-go",
        title="Samsung Galaxy Tab S9 FE 128 Go Wi-Fi",
        brand="Samsung",
        category="informatique",
        gtin=ean13("880609490912"),
        price=D("449"),
        store_zero_share=0.08,
        phases=(
            Phase(0, 13, price=D("349"), regular_price=D("449")),
            Phase(8, 9, online=OnlineStock.SOLD_OUT),  # a stockout only a browser can see
        ),
        promotion=Promotion(0, 13, D("349"), D("449")),
        jsonld_availability=None,
        live_stock=True,
        rating=(4.5, 203),
        features=('Écran 10,9" 90 Hz', "S Pen inclus", "Certifiée IP68", "Batterie 8000 mAh"),
        specs=_specs(
            "Écran",
            '10,9" TFT 2304 x 1440',
            "Mémoire",
            "128 Go",
            "RAM",
            "6 Go",
            "Système",
            "Android 13",
            "Poids",
            "523 g",
            "Garantie",
            "2 ans",
        ),
    ),
    # (f) JSON-LD keeps saying InStock while the page says "Épuisé"
    Product(
        sku="7158814",
        slug="jbl-charge-5-enceinte-bluetooth",
        title="JBL Charge 5 enceinte Bluetooth",
        brand="JBL",
        category="son-image",
        gtin=ean13("605063830470"),
        price=D("169"),
        online=OnlineStock.SOLD_OUT,
        store_zero_share=0.2,
        phases=(Phase(0, 13, price=D("119"), regular_price=D("169")),),
        promotion=Promotion(0, 13, D("119"), D("169")),
        jsonld_availability="https://schema.org/InStock",
        rating=(4.8, 540),
        features=("Étanche IP67", "Autonomie de 20 heures", "Fonction powerbank"),
        specs=_specs(
            "Autonomie",
            "20 h",
            "Étanchéité",
            "IP67",
            "Puissance",
            "40 W",
            "Poids",
            "960 g",
            "Garantie",
            "2 ans",
        ),
    ),
    # ordinary products: related items, categories, the canary
    Product(
        sku="7120011",
        slug="jura-e8-piano-black",
        title="Jura E8 Piano Black (EC)",
        brand="Jura",
        category="machines-a-cafe",
        gtin=ean13("761020615723"),
        price=D("1299"),
        rating=(4.5, 188),
        features=("Pulse Extraction Process", "17 spécialités", "Fabriqué en Suisse"),
        specs=_specs("Pression", "15 bar", "Réservoir d'eau", "1,9 l", "Garantie", "2 ans"),
    ),
    Product(
        sku="7120045",
        slug="nespresso-vertuo-pop-noir",
        title="Nespresso Vertuo Pop noir",
        brand="Nespresso",
        category="machines-a-cafe",
        gtin=ean13("763005826413"),
        price=D("99.90"),
        online=OnlineStock.LIMITED,
        rating=(4.1, 75),
        features=("Lecture du code-barres des capsules", "5 tailles de tasses"),
        specs=_specs("Réservoir d'eau", "0,56 l", "Garantie", "2 ans"),
    ),
    Product(
        sku="7120078",
        slug="melitta-caffeo-solo-e950-101",
        title="Melitta Caffeo Solo E950-101",
        brand="Melitta",
        category="machines-a-cafe",
        gtin=ean13("401184111245"),
        price=D("299"),
        online=OnlineStock.STORE_ONLY,
        rating=(4.0, 141),
        features=("Seulement 20 cm de large", "Broyeur en acier conique"),
        specs=_specs("Pression", "15 bar", "Garantie", "2 ans"),
    ),
    Product(
        sku="7130102",
        slug="kenwood-bouilloire-zjp00-000wh",
        title="Kenwood bouilloire ZJP00.000WH 1,7 l",
        brand="Kenwood",
        category="cuisine-menage",
        gtin=ean13("501107966011"),
        price=D("49.90"),
        rating=(4.3, 66),
        specs=_specs("Capacité", "1,7 l", "Puissance", "2200 W", "Garantie", "2 ans"),
    ),
    Product(
        sku="7130136",
        slug="brita-marella-xl-carafe-filtrante",
        title="Brita Marella XL carafe filtrante 3,5 l",
        brand="Brita",
        category="cuisine-menage",
        gtin=ean13("400638734852"),
        price=D("29.90"),
        store_zero_share=0.02,
        rating=(4.6, 402),
        specs=_specs("Capacité", "3,5 l", "Filtre", "Maxtra Pro inclus", "Garantie", "2 ans"),
    ),
    Product(
        sku="7150219",
        slug="apple-airpods-pro-2e-generation",
        title="Apple AirPods Pro (2e génération) USB-C",
        brand="Apple",
        category="son-image",
        gtin=ean13("019425384123"),
        price=D("229"),
        rating=(4.7, 1530),
        specs=_specs("Autonomie", "6 h (30 h avec boîtier)", "Garantie", "1 an"),
    ),
    Product(
        sku="7170330",
        slug="logitech-mx-master-3s-graphite",
        title="Logitech MX Master 3S souris sans fil graphite",
        brand="Logitech",
        category="informatique",
        gtin=ean13("509920357541"),
        price=D("99.90"),
        rating=(4.8, 612),
        specs=_specs("Capteur", "8000 dpi", "Connexion", "Bluetooth, Logi Bolt", "Garantie", "2 ans"),
    ),
    Product(
        sku="7180412",
        slug="dyson-v12-detect-slim-absolute",
        title="Dyson V12 Detect Slim Absolute",
        brand="Dyson",
        category="maison-jardin",
        gtin=ean13("503826575193"),
        price=D("599"),
        rating=(4.4, 233),
        specs=_specs("Autonomie", "60 min", "Poids", "2,2 kg", "Garantie", "2 ans"),
    ),
    Product(
        sku="7180446",
        slug="philips-hue-white-ambiance-e27-lot-de-2",
        title="Philips Hue White Ambiance E27 lot de 2",
        brand="Philips Hue",
        category="maison-jardin",
        gtin=ean13("871595115022"),
        price=D("39.90"),
        rating=(4.5, 301),
        specs=_specs("Culot", "E27", "Flux lumineux", "1100 lm", "Garantie", "2 ans"),
    ),
    Product(
        sku="7180480",
        slug="bosch-psr-1800-li-2-perceuse-visseuse",
        title="Bosch PSR 1800 LI-2 perceuse-visseuse sans fil",
        brand="Bosch",
        category="maison-jardin",
        gtin=ean13("316519817212"),
        price=D("119"),
        rating=(4.3, 87),
        specs=_specs("Tension", "18 V", "Batteries", "2 x 1,5 Ah", "Garantie", "2 ans"),
    ),
)

CANARY_SKU = "7130136"  # the Brita carafe: always in stock online and in stores

# name, postcode, city, latitude, longitude: French-speaking Switzerland (approximate town centres)
_STORE_ROWS = (
    ("Genève Cornavin", "1201", "Genève", 46.2100, 6.1420),
    ("Genève Plainpalais", "1205", "Genève", 46.1983, 6.1423),
    ("Carouge", "1227", "Carouge", 46.1815, 6.1390),
    ("Meyrin Centre", "1217", "Meyrin", 46.2340, 6.0800),
    ("Vernier Blandonnet", "1214", "Vernier", 46.2170, 6.0850),
    ("Lancy Centre", "1212", "Grand-Lancy", 46.1890, 6.1150),
    ("Thônex", "1226", "Thônex", 46.1940, 6.2020),
    ("Versoix", "1290", "Versoix", 46.2840, 6.1630),
    ("Nyon La Combe", "1260", "Nyon", 46.3833, 6.2396),
    ("Gland", "1196", "Gland", 46.4200, 6.2700),
    ("Rolle", "1180", "Rolle", 46.4580, 6.3370),
    ("Morges", "1110", "Morges", 46.5110, 6.4980),
    ("Renens Gare", "1020", "Renens", 46.5390, 6.5880),
    ("Lausanne Flon", "1003", "Lausanne", 46.5210, 6.6290),
    ("Lausanne Ouchy", "1006", "Lausanne", 46.5080, 6.6270),
    ("Lausanne Chauderon", "1004", "Lausanne", 46.5230, 6.6220),
    ("Pully", "1009", "Pully", 46.5100, 6.6620),
    ("Crissier", "1023", "Crissier", 46.5450, 6.5750),
    ("Prilly", "1008", "Prilly", 46.5370, 6.6040),
    ("Vevey", "1800", "Vevey", 46.4628, 6.8419),
    ("Montreux", "1820", "Montreux", 46.4312, 6.9107),
    ("Aigle", "1860", "Aigle", 46.3180, 6.9700),
    ("Monthey", "1870", "Monthey", 46.2550, 6.9540),
    ("Collombey", "1868", "Collombey", 46.2700, 6.9470),
    ("Martigny", "1920", "Martigny", 46.1020, 7.0720),
    ("Sion", "1950", "Sion", 46.2330, 7.3600),
    ("Sierre", "3960", "Sierre", 46.2920, 7.5350),
    ("Yverdon-les-Bains", "1400", "Yverdon-les-Bains", 46.7785, 6.6410),
    ("Orbe", "1350", "Orbe", 46.7250, 6.5320),
    ("Vallorbe", "1337", "Vallorbe", 46.7120, 6.3790),
    ("Le Sentier", "1347", "Le Sentier", 46.6090, 6.2350),
    ("Cossonay", "1304", "Cossonay", 46.6140, 6.5070),
    ("Échallens", "1040", "Échallens", 46.6420, 6.6330),
    ("Moudon", "1510", "Moudon", 46.6690, 6.7980),
    ("Oron", "1610", "Oron-la-Ville", 46.5720, 6.8260),
    ("Payerne", "1530", "Payerne", 46.8220, 6.9380),
    ("Estavayer-le-Lac", "1470", "Estavayer-le-Lac", 46.8490, 6.8460),
    ("Fribourg Centre", "1700", "Fribourg", 46.8065, 7.1619),
    ("Villars-sur-Glâne", "1752", "Villars-sur-Glâne", 46.7910, 7.1230),
    ("Bulle", "1630", "Bulle", 46.6190, 7.0570),
    ("Romont", "1680", "Romont", 46.6960, 6.9180),
    ("Châtel-Saint-Denis", "1618", "Châtel-Saint-Denis", 46.5270, 6.9010),
    ("Morat", "3280", "Morat", 46.9280, 7.1170),
    ("Neuchâtel Gare", "2000", "Neuchâtel", 46.9960, 6.9360),
    ("Marin-Epagnier", "2074", "Marin-Epagnier", 47.0100, 6.9990),
    ("Peseux", "2034", "Peseux", 46.9870, 6.8890),
    ("La Chaux-de-Fonds", "2300", "La Chaux-de-Fonds", 47.1035, 6.8328),
    ("Le Locle", "2400", "Le Locle", 47.0560, 6.7490),
    ("Saint-Imier", "2610", "Saint-Imier", 47.1530, 6.9970),
    ("Bienne", "2502", "Bienne", 47.1368, 7.2468),
    ("Delémont", "2800", "Delémont", 47.3650, 7.3440),
    ("Porrentruy", "2900", "Porrentruy", 47.4150, 7.0750),
)

STORES: tuple[Store, ...] = tuple(
    Store(str(101 + number), f"Demo Shop {name}", postcode, city, lat, lon)
    for number, (name, postcode, city, lat, lon) in enumerate(_STORE_ROWS)
)


def stores_for(count: int | None) -> tuple[Store, ...]:
    """The real store list, or exactly ``count`` stores (extra pick-up points beyond the real ones)."""
    if count is None or count == len(STORES):
        return STORES
    extra = tuple(
        Store(
            str(101 + n),
            f"Demo Shop Point retrait {n + 1}",
            base.postcode,
            base.city,
            round(base.latitude + 0.001 * (n // len(STORES)), 4),
            base.longitude,
        )
        for n in range(len(STORES), count)
        for base in (STORES[n % len(STORES)],)
    )
    return (STORES + extra)[:count]


_BENCH_BRANDS = ("Bosch", "Philips", "Samsung", "Sony", "Tefal", "Braun", "Siemens", "LG", "Rowenta", "Jura")
_BENCH_KINDS = (
    ("Grille-pain", "cuisine-menage"),
    ("Mixeur plongeant", "cuisine-menage"),
    ("Barre de son", "son-image"),
    ('Écran 27"', "informatique"),
    ("Aspirateur robot", "maison-jardin"),
    ("Fer à repasser vapeur", "maison-jardin"),
    ("Machine à capsules", "machines-a-cafe"),
)


def bench_product(index: int) -> Product:
    """The synthetic product ``/p/bench-{index}``: realistic enough to extract, cheap to make."""
    brand = _BENCH_BRANDS[index % len(_BENCH_BRANDS)]
    kind, category = _BENCH_KINDS[(index // len(_BENCH_BRANDS)) % len(_BENCH_KINDS)]
    price = D(19 + (index * 37) % 1200) + (D("0.90") if index % 3 else D(0))
    return Product(
        sku=f"9{index:06d}",
        slug=f"bench-{index}",
        title=f"{brand} {kind} BX-{index:05d}",
        brand=brand,
        category=category,
        gtin=ean13(f"76{index:010d}"),
        price=price,
        rating=(3.5 + (index % 15) / 10, 3 + index % 400),
        features=("Modèle de référence", "Garantie 2 ans"),
        specs=_specs(
            "Référence",
            f"BX-{index:05d}",
            "Couleur",
            ("Noir", "Blanc", "Argent")[index % 3],
            "Garantie",
            "2 ans",
        ),
        bench_index=index,
    )


def bench_live_product(index: int, hydration_ms: int = 0) -> Product:
    """``/p/bench-live-{index}``: the bench product with scenario (e)'s page, stock filled in by JavaScript.

    Its script asks for the stock ``hydration_ms`` after DOMContentLoaded (scenario (e) waits 400 ms); the
    browser benchmark uses 0 so that it measures the renderer, not a fixed pause.
    """
    return replace(bench_product(index), live_stock=True, jsonld_availability=None, hydration_ms=hydration_ms)


def product_by_sku() -> dict[str, Product]:
    return {p.sku: p for p in PRODUCTS}

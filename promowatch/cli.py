"""The ``promowatch`` command: a thin layer over library functions.

Exit codes: 0 ok, 1 some shops failed (or a check failed), 2 bad input, 3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import platformdirs

from promowatch import __version__
from promowatch.clock import Clock
from promowatch.config import (
    ConfigError,
    Watchlist,
    load_profile,
    load_watchlist,
    mask_urls,
    watchlist_warnings,
)
from promowatch.datadir import DataDir
from promowatch.domain import PUBLIC_OFFER_KEYS
from promowatch.run import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, RunError


def default_watchlist() -> Path:
    """$PROMOWATCH_WATCHLIST, ./watchlist.toml, or the user config dir's watchlist.toml."""
    if os.environ.get("PROMOWATCH_WATCHLIST"):
        return Path(os.environ["PROMOWATCH_WATCHLIST"])
    local = Path("watchlist.toml")
    if local.exists():
        return local
    return Path(platformdirs.user_config_dir("promowatch")) / "watchlist.toml"


def _watchlist(args: argparse.Namespace) -> Watchlist:
    path = Path(args.watchlist) if args.watchlist else default_watchlist()
    if not args.watchlist and not path.exists():
        raise ConfigError(
            f"no watchlist: pass --watchlist FILE, set PROMOWATCH_WATCHLIST, or create ./watchlist.toml or {path}"
        )
    return load_watchlist(path)


def _data(args: argparse.Namespace, *, existing: bool = False) -> DataDir:
    """The data directory; commands that only read refuse one that does not exist (a typo is not empty)."""
    if existing and not (args.db or os.environ.get("PROMOWATCH_DB")):
        root = DataDir.default_root(args.data_dir)
        if not (root / "promowatch.db").exists():
            raise RunError(f"{root}: no promowatch data here (use --data-dir or --db)", EXIT_BAD_INPUT)
    return DataDir.resolve(args.data_dir, args.db)


def _echo(args: argparse.Namespace) -> Callable[[str], None]:
    """Where a command's progress lines go: stdout, or nowhere with --quiet (errors still reach stderr)."""
    if getattr(args, "quiet", False):
        return lambda _line: None
    return print


def _interactive(args: argparse.Namespace) -> bool:
    """A person watches: a live progress view on stderr (never under cron, a pipe or --quiet)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


# ---------------------------------------------------------------- commands


def cmd_check_config(args: argparse.Namespace) -> int:
    from promowatch.run import check_phrases

    watchlist = _watchlist(args)
    check_phrases()
    print(
        f"{watchlist.path}: ok — {len(watchlist.retailers)} retailer(s), {len(watchlist.promotions)} "
        f"promotion(s), {len(watchlist.subscriptions)} subscription(s)"
    )
    for retailer in watchlist.retailers:
        print(
            f"  {retailer.slug}: profile {retailer.profile.slug} ({retailer.profile.path}), {retailer.base_url}"
        )
    for line in watchlist_warnings(watchlist) + _postcode_warnings(args, watchlist):
        print(f"promowatch: warning: {line}", file=sys.stderr)
    return EXIT_OK


def _postcode_warnings(args: argparse.Namespace, watchlist: Watchlist) -> list[str]:
    """Subscription postcodes near no stored store's postcode; stores are known only once crawled."""
    if not any(s.postcode for s in watchlist.subscriptions):
        return []
    try:
        data = _data(args, existing=True)
    except RunError:
        return []  # no database yet: nothing is known of the stores
    from notify.routing import unmatched_postcodes
    from promowatch.db.engine import close_database, open_database
    from promowatch.db.queries import store_postcodes

    sessions = open_database(data.db_url)
    try:
        with sessions() as session:
            known = store_postcodes(session)
    finally:
        close_database(sessions)
    return unmatched_postcodes(watchlist.subscriptions, known)


def cmd_crawl(args: argparse.Namespace) -> int:
    from promowatch.run import crawl_step, locked
    from promowatch.runconfig import RunContext

    data = _data(args)
    with locked(data), RunContext(_watchlist(args), data, Clock.parse(args.now)) as context:
        summary = crawl_step(
            context,
            retailers=tuple(args.retailer or ()),
            echo=_echo(args),
            progress=_interactive(args),
            processes=args.processes,
        )
    return EXIT_FAILED if summary.failed_retailers else EXIT_OK


def _redis(args: argparse.Namespace) -> str:
    """The work queue's Redis URL, once Redis answers: a Redis that is down is one line, not a crawl's traceback."""
    url = args.redis or os.environ.get("PROMOWATCH_REDIS")
    if not url:
        raise RunError(
            "no Redis URL: pass --redis redis://HOST:PORT/0 or set PROMOWATCH_REDIS", EXIT_BAD_INPUT
        )
    from promowatch.distributed import MissingExtra, redis_client

    try:
        redis = redis_client()
    except MissingExtra as error:
        raise RunError(str(error), EXIT_BAD_INPUT) from None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=10, socket_timeout=10)
    except ValueError as error:
        raise RunError(f"Redis URL {mask_urls(url)}: cannot be used ({error})", EXIT_BAD_INPUT) from None
    try:
        client.ping()
    except redis.RedisError as error:
        raise RunError(f"Redis at {mask_urls(url)} does not answer: {error}", EXIT_FAILED) from None
    finally:
        client.close()
    return str(url)


def cmd_run(args: argparse.Namespace) -> int:
    from promowatch.run import run_all

    summary = run_all(
        _watchlist(args),
        _data(args),
        now=args.now,
        retailers=tuple(args.retailer or ()),
        redis_url=_redis(args) if args.distributed else None,
        wait=args.wait,
        echo=_echo(args),
        progress=_interactive(args),
        processes=args.processes,
    )
    return EXIT_FAILED if summary.failed else EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from promowatch.distributed import run_worker

    stats = run_worker(
        _watchlist(args),
        _data(args),
        _redis(args),
        clock=Clock.parse(args.now),
        idle_exit=args.idle_exit,
    )
    _echo(args)(f"worker stopped: {stats.get('item_scraped_count', 0)} product pages checked")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from promowatch.run import evaluate_step, locked
    from promowatch.runconfig import RunContext

    data = _data(args)
    with locked(data), RunContext(_watchlist(args), data, Clock.parse(args.now)) as context:
        evaluate_step(context, echo=_echo(args))
    return EXIT_OK


def cmd_notify(args: argparse.Namespace) -> int:
    if args.test_url:
        from notify.sender import send_test

        ok, message = send_test(args.test_url, args.language)
        print(message)
        return EXIT_OK if ok else EXIT_FAILED
    from promowatch.run import locked, notify_step
    from promowatch.runconfig import RunContext

    data = _data(args)
    with locked(data), RunContext(_watchlist(args), data, Clock.parse(args.now)) as context:
        report = notify_step(context, echo=_echo(args))
    return EXIT_FAILED if report.failed else EXIT_OK


def _since(value: str) -> Any:
    """``--since``: an ISO date or time, UTC when no offset is given."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date or time such as 2026-11-23: {value!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cmd_findings(args: argparse.Namespace) -> int:
    from promowatch.db.engine import open_database
    from promowatch.db.queries import list_findings

    with open_database(_data(args, existing=True).db_url)() as session:
        rows = list_findings(
            session, state=args.state, retailer=args.retailer, rule=args.rule, since=args.since
        )
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        chosen = {"state": args.state, "retailer": args.retailer, "rule": args.rule, "since": args.since}
        told = ", ".join(f"{key} {value}" for key, value in chosen.items() if value)
        print("no findings" + (f" ({told})" if told else ""))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    from promowatch.terminal import rich_text

    table = Table("id", "retailer", "promotion", "rule", "state", "opened", "closed", "summary")
    for row in rows:
        # titles and summaries quote the shop: data for rich and the terminal, never markup or escape codes
        table.add_row(
            rich_text(row["id"]),
            rich_text(row["retailer"]),
            rich_text(row["promotion"]),
            rich_text(row["rule"]),
            rich_text(row["state"]),
            rich_text(str(row["opened_at"])[:16]),
            rich_text(str(row.get("closed_at") or "")[:16]),
            rich_text(row["summary"]),
        )
    Console(width=200).print(table)
    return EXIT_OK


def cmd_promotions(args: argparse.Namespace) -> int:
    from promowatch.db.engine import open_database
    from promowatch.db.queries import list_promotions

    with open_database(_data(args, existing=True).db_url)() as session:
        rows = list_promotions(session, Clock.parse(args.now).now(), retailer=args.retailer, state=args.state)
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no promotions" + (f" {args.state}" if args.state else ""))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    from promowatch.terminal import rich_text

    table = Table("id", "retailer", "title", "price", "instead of", "from", "until", "state", "sources")
    for row in rows:
        # titles and sources quote the shop: data for rich and the terminal, never markup or escape codes
        table.add_row(
            rich_text(row["id"]),
            rich_text(row["retailer"]),
            rich_text(row["title"]),
            rich_text(f"{row['advertised_price']} {row['currency']}"),
            rich_text(row["reference_price"] or ""),
            rich_text(row["starts"][:16]),
            rich_text((row["ends"] or "")[:16]),
            rich_text(row["state"]),
            rich_text(", ".join(row["sources"]) or row["origin"]),
        )
    Console(width=200).print(table)
    return EXIT_OK


def cmd_observations(args: argparse.Namespace) -> int:
    from promowatch.db.engine import open_database
    from promowatch.db.observations import list_observations

    rows = list_observations(
        open_database(_data(args, existing=True).db_url), retailer=args.retailer, product=args.product
    )
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("no observations")
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    from promowatch.terminal import rich_text

    table = Table(
        "id", "observed", "retailer", "product", "render", "price", "availability", "orderable", "why"
    )
    for row in rows:
        price = f"{row['price']} {row['currency'] or ''}".strip() if row["price"] is not None else ""
        orderable = {True: "yes", False: "no", None: "?"}[row["orderable"]]
        # URLs, prices and reasons quote the shop: data for rich and the terminal, never markup or escape codes
        table.add_row(
            rich_text(row["id"]),
            rich_text(row["observed_at"][:16]),
            rich_text(row["retailer"]),
            rich_text(row["product_url"]),
            rich_text(row["render"]),
            rich_text(price),
            rich_text(row["availability"]),
            rich_text(orderable),
            rich_text(row["reason"] or row["wait"] or ""),
        )
    Console(width=200).print(table)
    return EXIT_OK


def _read_source(source: str) -> bytes:
    from promowatch.extract.page import read_page

    path = Path(source)
    if not path.exists():
        raise RunError(f"{source}: no such file", EXIT_BAD_INPUT)
    return read_page(path)


def _show_offer(offer_json: dict[str, Any], as_json: bool) -> None:
    from promowatch.terminal import terminal_text

    if as_json:
        print(json.dumps({k: offer_json[k] for k in PUBLIC_OFFER_KEYS}, ensure_ascii=False, indent=2))
        return
    for key, value in offer_json.items():
        if key != "signals" and value is not None:
            print(f"{key:>14}: {terminal_text(str(value))}")
    print("       signals:")
    for signal in offer_json["signals"]:
        value = terminal_text(str(signal["value"]))
        print(f"    {signal['field']:<13} {signal['source']:<9} {value:<14} {signal['raw'][:70]!r}")


def cmd_extract(args: argparse.Namespace) -> int:
    from promowatch.extract import extract_offer
    from promowatch.run import check_phrases

    check_phrases()
    profile = load_profile(args.profile) if args.profile else None
    body = _read_source(args.page)
    offer = extract_offer(body, args.url or Path(args.page).resolve().as_uri(), profile).to_json()
    _show_offer(offer, args.json)
    return EXIT_OK


def _profile_dirs_beside(args: argparse.Namespace) -> tuple[Path, ...]:
    """The ``sites/`` directory beside ``-w WATCHLIST``, searched first for a profile named on the command line
    (as a run finds the watchlist's profiles)."""
    watchlist = getattr(args, "watchlist", None)
    return (Path(watchlist).parent / "sites",) if watchlist else ()


def cmd_check(args: argparse.Namespace) -> int:
    import re
    from urllib.parse import urlsplit

    from promowatch.crawl.runner import fetch_offer
    from promowatch.run import check_phrases

    not_a_url = RunError(f"{mask_urls(args.url)!r}: not an http(s) URL of a product page", EXIT_BAD_INPUT)
    try:  # a bracketed host that is no IPv6 address, a port that is no number: urlsplit raises
        parts = urlsplit(args.url)
        parts.port  # noqa: B018 - parsed only to refuse a port that is no number or out of range
    except ValueError:
        raise not_a_url from None
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", parts.netloc):
        raise not_a_url
    check_phrases()
    profile = load_profile(args.profile, _profile_dirs_beside(args)) if args.profile else None
    render = "browser" if args.browser else profile.render if profile is not None else "http"
    if render == "http":
        offer = fetch_offer(args.url, profile)
    else:
        from promowatch.crawl.browser import BrowserNotFound, browser_executable
        from spiders.browser_check import fetch_rendered_offer

        try:
            browser_executable()
        except BrowserNotFound as error:  # one line saying what to install
            raise RunError(str(error), EXIT_FAILED) from None
        offer = fetch_rendered_offer(args.url, profile, render)
    _show_offer(offer.to_json(), args.json)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if args.serve is not None:
        return serve_demo_shop(args.port or 8123, args.serve)
    from promowatch.demo.run import run_demo

    return run_demo(
        port=args.port,
        days=args.days,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        browser=args.browser,
    )


def serve_demo_shop(port: int, day: int) -> int:
    """``promowatch demo --serve DAY``: only the demo shop, its clock standing on that day, until Ctrl+C."""
    import time
    from datetime import timedelta

    from promowatch.demo.scenarios import DEFAULT_START, SCENARIOS
    from promowatch.demo.shop import DemoShop, PortInUseError

    shop = DemoShop(DEFAULT_START, port=port)
    shop.set_clock(DEFAULT_START + timedelta(days=day, hours=9))
    try:
        shop.start()
    except PortInUseError as error:  # its message names the port and what to do
        raise RunError(str(error.strerror), EXIT_FAILED) from None
    try:  # from here on Ctrl+C is how it stops, even while it still prints its pages
        print(
            f"demo shop at {shop.url} on simulated day {day}; Ctrl+C stops it. Its scenarios' product pages:"
        )
        for item in SCENARIOS:
            print(f"  ({item.letter}) {shop.url}{item.path}  {item.title}")
        print(f"robots.txt, {shop.url}/promotions and the store API at {shop.url}/api/stores as in the demo")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        shop.stop()


def cmd_case(args: argparse.Namespace) -> int:
    if args.case_command == "export":
        return _case_export(args)
    from promowatch.evidence.case_verify import NotABundle, verify_case

    try:
        report = verify_case(Path(args.bundle), tsa_ca_file=Path(args.tsa_ca) if args.tsa_ca else None)
    except NotABundle as error:
        raise RunError(str(error), EXIT_BAD_INPUT) from None
    for line in report.checks:
        print(f"  {line}")
    print(report.message)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_serve(args: argparse.Namespace) -> int:
    from promowatch.web.security import NotAllowed
    from promowatch.web.serve import read_token, serve

    try:
        serve(_data(args, existing=True), args.host, args.port, read_token(args.token_file), args.now)
    except NotAllowed as error:
        raise RunError(str(error), EXIT_BAD_INPUT) from None
    return EXIT_OK


def cmd_order(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from promowatch.db.engine import open_database
    from promowatch.evidence.blobs import BlobStore
    from promowatch.extract.prices import parse_amount
    from promowatch.orders import NewOrder, OrderError, add_order, add_status, list_orders
    from promowatch.rules.thresholds import Thresholds

    now = Clock.parse(args.now).now()
    try:
        if args.order_command == "list":
            with open_database(_data(args, existing=True).db_url)() as session:
                orders = list_orders(session)
            if args.json:
                print(json.dumps(orders, indent=2, ensure_ascii=False))
            for order in [] if args.json else orders:
                last = order["statuses"][-1] if order["statuses"] else None
                shown = f"{last['text']!r} on {last['at'][:10]}" if last else "no status"
                print(
                    f"{order['id']}: {order['retailer']} order {order['reference']} of {order['ordered_at'][:10]}, "
                    f"{order['price_paid']} {order['currency']}; {shown}"
                )
            return EXIT_OK
        data = _data(args)
        sessions = open_database(data.db_url)
        if args.order_command == "status":
            outcome = "delivered" if args.delivered else "cancelled" if args.cancelled else None
            with sessions.begin() as session:
                status = add_status(
                    session,
                    BlobStore(data.blobs),
                    args.order,
                    args.text,
                    args.at or now,
                    now,
                    outcome=outcome,
                    file=Path(args.file) if args.file else None,
                )
                digest = f" (file SHA-256 {status.file_sha256})" if status.file_sha256 else ""
            print(f"status of order {args.order} recorded{digest}")
            return EXIT_OK
        product = args.product
        if product is not None and product.startswith("/"):  # a path on the retailer's base URL
            bases = {r.slug: r.base_url for r in _watchlist(args).retailers}
            if args.retailer not in bases:
                raise RunError(f"--retailer {args.retailer!r} is not in the watchlist", EXIT_BAD_INPUT)
            product = bases[args.retailer] + product
        # the extraction's parser: "499.–", "1’299.50", "CHF 499.00" as a shop or a receipt writes them
        price, _ = parse_amount(args.price)
        if price is None:
            raise RunError(f"--price {args.price!r}: not an amount such as 499.00", EXIT_BAD_INPUT)
        promotion = args.promotion
        new = NewOrder(
            slug=args.id or f"{args.retailer}-{args.reference}",
            retailer=args.retailer,
            product_url=product,
            promotion=int(promotion) if promotion and promotion.isdigit() else promotion,
            ordered_at=args.ordered_at,
            paid_at=args.paid_at,
            price_paid=price.quantize(Decimal("0.01")),
            currency=args.currency,
            reference=args.reference,
            promise=args.promise,
        )
        thresholds = _watchlist(args).thresholds if args.watchlist else Thresholds()
        with sessions.begin() as session:
            add_order(session, new, "command", now, thresholds)
        print(f"order {new.slug} recorded")
        return EXIT_OK
    except OrderError as error:
        raise RunError(str(error), EXIT_BAD_INPUT) from None
    except FileNotFoundError as error:
        raise RunError(f"{error.filename}: no such file", EXIT_BAD_INPUT) from None


def _case_export(args: argparse.Namespace) -> int:
    """One dossier per promotion: a finding's (that finding first), a promotion's, or each of a retailer's."""
    from promowatch.db.engine import open_database
    from promowatch.evidence.case import DossierContext, export_selected, open_summary
    from promowatch.evidence.timestamp import TimestampError

    chosen = [x for x in (args.finding, args.promotion, args.retailer) if x is not None]
    if len(chosen) != 1:
        raise RunError("case export: give one of FINDING, --promotion ID or --retailer SLUG", EXIT_BAD_INPUT)
    data = _data(args, existing=True)
    watchlist = _watchlist(args) if args.watchlist or default_watchlist().exists() else None
    tsa = args.tsa or (watchlist.tsa_url if watchlist else None)
    try:
        written = export_selected(
            open_database(data.db_url),
            data.blobs,
            data.warcs,
            Path(args.output),
            finding=args.finding,
            promotion=args.promotion,
            retailer=args.retailer,
            rule=args.rule,
            language=args.language,
            tsa_url=tsa,
            context=DossierContext.from_watchlist(watchlist) if watchlist else None,
        )
    except LookupError as error:
        raise RunError(f"{error.args[0]} (see `promowatch findings`)", EXIT_BAD_INPUT) from None
    except TimestampError as error:  # an outside service down or refusing
        raise RunError(str(error), EXIT_FAILED) from None
    for what, path in written:
        print(f"dossier of {what} written to {path}")
        if args.open:
            print(f"summary: {open_summary(path)}")
    return EXIT_OK


def cmd_reference(args: argparse.Namespace) -> int:
    from promowatch.config_schema import write_reference

    stale = write_reference(Path(args.out), check=args.check)
    for name in stale:
        print(f"{Path(args.out) / name}: {'out of date' if args.check else 'written'}")
    if args.check and stale:
        print("promowatch: error: run `promowatch reference` to regenerate them", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_evidence(args: argparse.Namespace) -> int:
    from promowatch.db.engine import open_database
    from promowatch.evidence.blobs import BlobStore
    from promowatch.evidence.integrity import verify_evidence

    data = _data(args, existing=True)
    if args.evidence_command == "publish-head":
        from promowatch.evidence.head import head_json, head_text, published_head

        with open_database(data.db_url)() as session:
            head = published_head(session)
        print(head_json(head) if args.json else head_text(head), end="")
        return EXIT_OK
    report = verify_evidence(open_database(data.db_url), BlobStore(data.blobs))
    print(report.message)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_profile_test(args: argparse.Namespace) -> int:
    from promowatch.onboarding.fetch import PreviewPlan, fetch_preview
    from promowatch.onboarding.preview import check_profile, report_lines
    from promowatch.run import check_phrases
    from promowatch.terminal import terminal_text

    watchlist = _watchlist(args)
    check_phrases()
    try:
        retailer = watchlist.retailer(args.retailer)
    except KeyError:
        known = ", ".join(r.slug for r in watchlist.retailers)
        raise ConfigError(f"{watchlist.path}: no retailer {args.retailer!r} (known: {known})") from None
    plan = fetch_preview(PreviewPlan(retailer))
    report = check_profile(retailer.profile, plan.promotions, plan.products, plan.store_list, plan.stock)
    for line in report_lines(report, terminal_text):
        print(line)
    for url in plan.offsite:
        print(f"not fetched, off {retailer.base_url}: {terminal_text(url)}")
    return EXIT_FAILED if report.errors else EXIT_OK


def cmd_profile_new(args: argparse.Namespace) -> int:
    from promowatch.onboarding.draft import render_profile
    from promowatch.onboarding.draft_fetch import DraftError, fetch_for_draft
    from promowatch.onboarding.profile import draft_profile

    try:
        pages = fetch_for_draft(
            args.url, args.promotions, browser=args.browser, stores=args.stores, stock=args.stock
        )
    except DraftError as error:
        raise RunError(str(error), error.code) from None
    text = render_profile(draft_profile(pages, args.slug))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"profile drafted to {args.out}; check it with `promowatch profile test`", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promowatch", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--version", action="version", version=f"promowatch {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--watchlist", "-w", help="watchlist TOML (default: $PROMOWATCH_WATCHLIST, ./watchlist.toml)"
    )
    common.add_argument("--data-dir", help="data directory (default: $PROMOWATCH_DATA or the user data dir)")
    common.add_argument(
        "--db", help="SQLAlchemy database URL (default: $PROMOWATCH_DB or SQLite in the data dir)"
    )
    common.add_argument("--now", help="observe at this ISO time (a simulated clock, for demos and replays)")
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors (for cron)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(
        name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    add("check-config", cmd_check_config, "validate the watchlist and its site profiles without crawling")
    crawling: list[argparse.ArgumentParser] = []  # the commands that crawl: crawl, run (and worker)
    for name, handler, text in (
        ("crawl", cmd_crawl, "crawl promotions, product pages and store stock of the watched retailers"),
        ("run", cmd_run, "crawl, evaluate and notify: what cron runs"),
    ):
        command = add(name, handler, text)
        crawling.append(command)
        command.add_argument("--retailer", action="append", help="only this retailer (repeatable)")
        command.add_argument(
            "--processes",
            type=int,
            default=1,
            metavar="N",
            help="crawl in N processes, each owning whole retailers (default 1; more when one core is the limit)",
        )
        if name == "run":
            command.add_argument(
                "--distributed", action="store_true", help="send the product pages to `promowatch worker`s"
            )
            command.add_argument("--redis", help="Redis URL of the work queue (default: $PROMOWATCH_REDIS)")
            command.add_argument(
                "--wait",
                type=float,
                default=3000.0,
                metavar="SECONDS",
                help="wait this long for the workers (default 3000: done before the next hourly run)",
            )
    worker = add("worker", cmd_worker, "check product pages from the shared queue (scrapy-redis)")
    worker.add_argument("--redis", help="Redis URL of the work queue (default: $PROMOWATCH_REDIS)")
    worker.add_argument(
        "--idle-exit", type=int, default=0, help="stop after this many idle seconds (0: never)"
    )
    add("evaluate", cmd_evaluate, "turn stored observations into findings and events")
    notify = add("notify", cmd_notify, "deliver pending events through Apprise (or: notify test URL)")
    notify.add_argument("test", nargs="?", choices=["test"], help=argparse.SUPPRESS)
    notify.add_argument(
        "test_url", nargs="?", help="with 'test': send a test notification to this Apprise URL"
    )
    notify.add_argument("--language", default="en", choices=["fr", "de", "en", "it"])
    findings = add("findings", cmd_findings, "list findings")
    findings.add_argument("--json", action="store_true")
    findings.add_argument(
        "--state", choices=["open", "confirmed", "closed"], help="open: not closed (open or confirmed)"
    )
    findings.add_argument("--retailer", help="only this retailer's findings")
    findings.add_argument(
        "--rule", help="only this rule's findings (unorderable_online, store_stockout, ...)"
    )
    findings.add_argument(
        "--since", type=_since, metavar="DATE", help="only findings opened or closed on or after this date"
    )
    promotions = add(
        "promotions", cmd_promotions, "list the promotions the sweeps found and the watchlist's, with windows"
    )
    promotions.add_argument("--retailer", help="only this retailer's promotions")
    promotions.add_argument(
        "--state", choices=["running", "ended"], help="running or ended now (or at --now)"
    )
    promotions.add_argument("--json", action="store_true")
    observations = add(
        "observations", cmd_observations, "list stored offer observations: the latest of each product"
    )
    observations.add_argument("--retailer", help="only this retailer's products")
    observations.add_argument(
        "--product", metavar="URL", help="every observation of this product, newest first"
    )
    observations.add_argument("--json", action="store_true")
    extract = sub.add_parser("extract", help="extract the offer from a saved page (.html or .html.gz)")
    extract.add_argument("page")
    extract.add_argument("--url", help="the page's URL (picks the main product, resolves links)")
    extract.add_argument("--profile", help="a site profile name or .toml path")
    extract.add_argument("--json", action="store_true", help="print the public JSON object")
    extract.set_defaults(handler=cmd_extract)
    check = sub.add_parser(
        "check",
        help="fetch one product page (over HTTP, or as the profile's render says) and extract its offer",
    )
    check.add_argument("url")
    check.add_argument("--profile", help="a site profile name or .toml path (its render mode too)")
    check.add_argument(
        "--watchlist", "-w", help="a watchlist whose sites/ directory is searched first for --profile"
    )
    check.add_argument(
        "--browser", action="store_true", help='read the page in Chromium, as render = "browser"'
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_check)
    demo = sub.add_parser("demo", help="start the demo shop on 127.0.0.1 and crawl it over simulated days")
    demo.add_argument("--port", type=int, default=0, help="port of the demo shop (default: a free one)")
    demo.add_argument("--days", type=int, default=14)
    demo.add_argument(
        "--browser", action="store_true", help="render what HTTP cannot read (scenario e) in Chromium: slower"
    )
    demo.add_argument("--data-dir", help="keep the demo's data here (default: a new temporary directory)")
    demo.add_argument(
        "--serve",
        type=int,
        metavar="DAY",
        help="only serve the demo shop (on --port, default 8123), its clock on this day, until Ctrl+C",
    )
    demo.set_defaults(handler=cmd_demo)
    # the options go on export and verify: on `case` itself they were overwritten by the subcommand's defaults
    case = sub.add_parser(
        "case", help="export or verify a case bundle", description="export or verify a case bundle"
    )
    case.set_defaults(handler=cmd_case)
    case_sub = case.add_subparsers(dest="case_command", required=True)
    export = case_sub.add_parser(
        "export",
        parents=[common],
        help="write one dossier (zip) per promotion with all its findings",
        description="Write one dossier (zip) per promotion, holding all its findings: a finding's promotion "
        "(that finding first), --promotion's, or one per promotion of --retailer that has findings.",
    )
    export.add_argument("finding", type=int, nargs="?", help="the dossier of this finding's promotion")
    export.add_argument("--promotion", type=int, metavar="ID", help="the dossier of this promotion")
    export.add_argument(
        "--retailer", metavar="SLUG", help="one dossier per promotion of this retailer with findings"
    )
    export.add_argument("--rule", help="only findings of this rule (unorderable_online, store_stockout, ...)")
    export.add_argument(
        "--open", action="store_true", help="open each dossier's summary (xdg-open), else print its path"
    )
    export.add_argument(
        "-o", "--output", required=True, help="the zip, or a directory (for --retailer: a directory)"
    )
    export.add_argument("--language", default="fr", choices=["fr", "de", "it", "en"])
    export.add_argument("--tsa", help="RFC 3161 timestamp authority URL")
    verify = case_sub.add_parser("verify", parents=[common])
    verify.add_argument("bundle")
    verify.add_argument("--tsa-ca", help="CA certificate file to check the timestamp's signature with")
    serve = add("serve", cmd_serve, "the web dashboard and JSON API over the data directory's database")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8686, help="port to listen on (default 8686)")
    serve.add_argument(
        "--token-file",
        help="file whose first line is the token (default: $PROMOWATCH_WEB_TOKEN); needed beyond loopback",
    )
    order = sub.add_parser(
        "order",
        help="record a consumer's own order and its statuses, or list them",
        description="record a consumer's own order and its statuses (delivery_overdue), or list them",
    )
    order.set_defaults(handler=cmd_order)
    order_commands = order.add_subparsers(dest="order_command", required=True)
    order_add = order_commands.add_parser("add", parents=[common], help="record an order")
    order_add.add_argument("--id", help="a short name for the order (default: RETAILER-REFERENCE)")
    order_add.add_argument("--retailer", required=True, help="the retailer's slug")
    ordered = order_add.add_mutually_exclusive_group(required=True)
    ordered.add_argument(
        "--product", metavar="URL", help="the product ordered (URL, or path with --watchlist)"
    )
    ordered.add_argument("--promotion", metavar="ID", help="the promotion ordered from: its id or title")
    order_add.add_argument(
        "--ordered-at", type=_since, required=True, metavar="TIME", help="when it was ordered"
    )
    order_add.add_argument("--paid-at", type=_since, metavar="TIME", help="when it was paid, if later")
    order_add.add_argument("--price", required=True, help="the price paid, e.g. 499.00")
    order_add.add_argument("--currency", help="ISO 4217 code (default: the promotion's or the retailer's)")
    order_add.add_argument("--reference", required=True, help="the shop's order number")
    order_add.add_argument(
        "--promise",
        metavar="TEXT",
        help="the delivery promise shown when ordering (default: the one last observed)",
    )
    order_status = order_commands.add_parser("status", parents=[common], help="record a status of an order")
    order_status.add_argument("order", metavar="ID", help="the order's id")
    order_status.add_argument("text", help='the status as the shop words it, e.g. "in processing"')
    order_status.add_argument("--at", type=_since, metavar="TIME", help="when it was seen (default: now)")
    order_status.add_argument("--file", help="a file showing it (e-mail, PDF, screenshot): hashed and kept")
    outcome = order_status.add_mutually_exclusive_group()
    outcome.add_argument("--delivered", action="store_true", help="the order was delivered")
    outcome.add_argument("--cancelled", action="store_true", help="the order was cancelled")
    order_list = order_commands.add_parser("list", parents=[common], help="list the recorded orders")
    order_list.add_argument("--json", action="store_true")
    evidence = add(
        "evidence",
        cmd_evidence,
        "verify the evidence store and the observation hash chain, or print its head to publish",
    )
    evidence.add_argument("evidence_command", choices=["verify", "publish-head"])
    evidence.add_argument("--json", action="store_true", help="publish-head: the head as JSON")
    reference = sub.add_parser(
        "reference",
        help="write the key reference (reference.md) and the JSON Schemas of the watchlist and profiles",
    )
    reference.add_argument("--out", default="docs", help="directory to write them to (default: docs)")
    reference.add_argument("--check", action="store_true", help="write nothing; exit 1 when they are stale")
    reference.set_defaults(handler=cmd_reference)
    # `profile new` and `profile test` each set their own handler on the group's subparsers
    profile = sub.add_parser(
        "profile", help="draft or test a site profile", description="draft or test a site profile"
    )
    profile_commands = profile.add_subparsers(dest="profile_command", required=True)
    profile_test = profile_commands.add_parser(
        "test",
        parents=[common],
        help="fetch a retailer's promotions page, a few product pages and its store API once, politely, "
        "and show what each profile section reads; exit 1 when a key reads nothing",
    )
    profile_test.add_argument("retailer", help="the retailer's slug in the watchlist")
    profile_test.set_defaults(handler=cmd_profile_test)
    profile_new = profile_commands.add_parser(
        "new",
        help="draft a commented site profile from a product page (and the promotions page)",
        description="draft a commented site profile from a product page (and the promotions page), "
        "fetching only the URLs given, politely",
    )
    profile_new.add_argument("url", help="a product page of the shop (best: one on promotion, orderable)")
    profile_new.add_argument("--promotions", metavar="URL", help="the shop's promotions page")
    profile_new.add_argument(
        "--browser",
        action="store_true",
        help="also render the product page in Chromium and map the JSON it fetches into [stores]",
    )
    profile_new.add_argument(
        "--stores", metavar="URL", help="the store list API (JSON), when no page fetches it"
    )
    profile_new.add_argument("--stock", metavar="URL", help="this product's per-store stock API (JSON)")
    profile_new.add_argument("--slug", help="the retailer's slug (default: from the host name)")
    profile_new.add_argument("--out", metavar="FILE", help="write the profile here (default: stdout)")
    profile_new.set_defaults(handler=cmd_profile_new)
    return parser


def _outside_failure(error: Exception) -> RunError | None:
    """A database or Redis server that failed mid-command, as one line (exit 1); None for anything else.
    Checked by the loaded modules, so that no command imports SQLAlchemy or redis just to recognise them."""
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(error, sqlalchemy_errors.OperationalError):
        from promowatch.db.engine import driver_reason

        return RunError(f"database: {mask_urls(driver_reason(error))}", EXIT_FAILED)
    redis_errors = sys.modules.get("redis.exceptions")
    if redis_errors is not None and isinstance(
        error, redis_errors.ConnectionError | redis_errors.TimeoutError
    ):
        return RunError(f"Redis: {mask_urls(str(error))}", EXIT_FAILED)
    return None


def _file_failure(error: OSError) -> RunError:
    """A file, directory or connection the command needs: a full or failing disk or a server that does not
    answer is exit 1, anything else bad input."""
    import errno
    import socket

    where = f"{error.filename}: " if error.filename else ""
    # a server that is down or a name that does not resolve is no bad input
    outside = isinstance(error, ConnectionError | TimeoutError | socket.gaierror) or error.errno in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EROFS,
    )
    return RunError(f"{where}{error.strerror or error}", EXIT_FAILED if outside else EXIT_BAD_INPUT)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "test", None) and not args.test_url:
        print("promowatch: error: notify test needs an Apprise URL", file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "now", None):
        try:
            Clock.parse(args.now)
        except ValueError:
            print(
                f"promowatch: error: --now {args.now!r}: not an ISO 8601 time such as 2026-11-23T10:00Z",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"promowatch: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunError as error:
        print(f"promowatch: error: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:  # a data directory that is a file, read-only or full
        failure = _file_failure(error)
        print(f"promowatch: error: {failure}", file=sys.stderr)
        return failure.code
    except Exception as error:
        outside = _outside_failure(error)
        if outside is None:
            raise
        print(f"promowatch: error: {outside}", file=sys.stderr)
        return outside.code


if __name__ == "__main__":
    sys.exit(main())

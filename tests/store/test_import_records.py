"""Importing organisations, users, types, options, youths and contingents from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from import_builders import (
    CONTINGENTS,
    OPTION_HEADER,
    OPTIONS,
    TODAY,
    YOUTH_HEADER,
    YOUTHS,
    gemeenten_features,
    seed_all,
    seed_reference,
    table,
    write,
    write_geojson,
)
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import store.importers as importers
from store.db import unit_of_work
from store.importers import (
    ImportFailed,
    import_areas,
    import_contingents,
    import_file,
    import_housing_types,
    import_options,
    import_organisations,
    import_users,
    import_youths,
)
from store.models import (
    Contingent,
    HousingOption,
    HousingType,
    User,
    Youth,
    YouthAcceptedType,
    YouthRelation,
)
from store.repository import count_by_kind, load_options, load_youths

Factory = sessionmaker[Session]


@pytest.fixture
def reference(session_factory: Factory, tmp_path: Path) -> Factory:
    """Areas, organisations, users and types loaded."""
    with unit_of_work(session_factory) as session:
        seed_reference(session, tmp_path)
    return session_factory


def _refused(factory: Factory, kind: str, path: Path, **kw: Any) -> list[str]:
    """The import fails, nothing changes, and the error lines are returned."""
    with factory() as session:
        before = count_by_kind(session)
    with pytest.raises(ImportFailed) as info, unit_of_work(factory) as session:
        import_file(session, kind, path, **kw)
    with factory() as session:
        assert count_by_kind(session) == before
    return [str(e) for e in info.value.errors]


def test_whole_region_imports(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
    with session_factory() as session:
        assert count_by_kind(session) == {
            "areas": 9,
            "organisations": 5,
            "users": 3,
            "types": 3,
            "options": 4,
            "youths": 3,
            "contingents": 4,
        }
        options = {o.code: o for o in load_options(session)}
        youths = {y.code: y for y in load_youths(session)}
        statuses = set(session.scalars(select(HousingOption.status)))
    first = options["OPT-001"]
    assert (first.gemeente_code, first.wijk_code, first.buurt_code) == (
        "GM0796",
        "WK079601",
        "BU07960101",
    )
    assert first.kale_huur == 450.5 and first.servicekosten == 20 and first.corporation == "CORP1"
    assert options["OPT-002"].x == 145000.5 and options["OPT-002"].available_from.month == 2
    assert options["OPT-004"].corporation is None and options["OPT-004"].buurt_code == "BU08280101"
    assert statuses == {"available"}
    j1 = youths["J-0001"]
    assert j1.accepted_types == ("kma", "friends")
    assert j1.preferred_areas == ("BU07960101", "GM0828")
    assert [(a.label, a.x, a.y) for a in j1.anchors] == [
        ("school", 149800, 411500),
        ("werk", 150200.5, 410900),
    ]
    assert j1.no_go_codes == ("WK082801",) and j1.no_go_polygons[0].area == 500000
    assert j1.regisseur == "regisseur1@example.nl" and j1.income == 1100.5
    # Companions are stored both ways; conflicts as given.
    assert j1.companions == ("J-0002",) and youths["J-0002"].companions == ("J-0001",)
    assert j1.conflicts == ("J-0003",) and youths["J-0003"].conflicts == ()
    assert youths["J-0002"].urgency == 1 and youths["J-0003"].household_size == 2


def test_options_every_bad_row_reported(reference: Factory, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "options.csv",
        table(
            OPTION_HEADER,
            "OPT-001;kma;CORP1;145000;405000;;;;450;0;1;;2026-01-01;ja",
            "OPT-002;kma;CORP1;145000;405000;;;;-12;0;1;;2026-01-01;ja",
            "OPT-003;castle;CORP1;145000;405000;;;;450;0;1;;2026-01-01;ja",
            "OPT-004;kma;CORP9;145000;405000;;;;450;0;1;;2026-01-01;ja",
            "OPT-005;kma;ZORG1;145000;405000;;;;450;0;1;;2026-01-01;ja",
            "OPT-006;kma;CORP1;145000;405000;;;;450;0;-1;;2026-01-01;ja",
            "OPT-007;kma;CORP1;145000;405000;;;;450;0;1;;2026-13-01;ja",
            "OPT-008;kma;CORP1;5.3;51.7;;;;450;0;1;;2026-01-01;ja",
            "OPT-009;kma;CORP1;145000;405000;GM0828;;;450;0;1;;2026-01-01;ja",
            "OPT-010;kma;CORP1;145000;405000;;;BU0796010;450;0;1;;2026-01-01;ja",
        ),
    )
    errors = _refused(reference, "options", path)
    assert errors == [
        "rij 3, veld kale_huur: mag niet negatief zijn (in het bestand: -12)",
        "rij 4, veld type: onbekend woningtype castle",
        "rij 5, veld corporatie: onbekende organisatie CORP9",
        "rij 6, veld corporatie: ZORG1 is geen corporatie maar zorgaanbieder",
        "rij 7, veld capacity: minstens 1 (in het bestand: -1)",
        "rij 8, veld available_from: bestaat niet als datum: '2026-13-01'",
        "rij 9, veld y: de locatie ligt niet in Nederland (in het bestand: 51.7)",
        "rij 10, veld gemeentecode: GM0828 klopt niet met de locatie (die ligt in GM0796)",
        "rij 11, veld buurtcode: geen geldige CBS-code: 'BU0796010' (verwacht GM+4, WK+6 of "
        "BU+8 cijfers)",
    ]


def test_options_without_buurten_use_gemeenten(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        import_areas(session, write_geojson(tmp_path / "g.geojson", gemeenten_features()))
        import_organisations(
            session, write(tmp_path, "o.csv", "code;name;kind\nCORP1;C;corporatie\n")
        )
        import_housing_types(
            session,
            write(
                tmp_path,
                "t.csv",
                "code;name;min_age;max_age;zelfstandig;provider_contract;persons_min;"
                "persons_max;support_min;support_max\nkma;KmA;18;23;nee;nee;1;1;0;2\n",
            ),
        )
        import_options(
            session, write(tmp_path, "o1.csv", table(OPTION_HEADER, *OPTIONS.split("\n")[1:2]))
        )
    with session_factory() as session:
        (option,) = load_options(session)
    assert option.area_codes == ("GM0796",)
    path = write(
        tmp_path,
        "o2.csv",
        table(OPTION_HEADER, "OPT-002;kma;CORP1;145000;405000;;;BU07960101;450;0;1;;2026-01-01;"),
    )
    assert _refused(session_factory, "options", path) == [
        "rij 2, veld buurtcode: onbekend gebied BU07960101"
    ]


def test_duplicate_ids_reported_once_with_count(reference: Factory, tmp_path: Path) -> None:
    lines = OPTIONS.strip().split("\n")
    path = write(tmp_path, "options.csv", table(*lines, lines[1], lines[1]))
    errors = _refused(reference, "options", path)
    assert errors == ["rij 2, veld option_id: OPT-001 komt 3 keer voor (rij 2, 6, 7)"]


def test_semicolon_decimal_comma_bom_and_comma_files(reference: Factory, tmp_path: Path) -> None:
    with unit_of_work(reference) as session:
        import_options(session, write(tmp_path, "options.csv", OPTIONS, bom=True))
    comma = table(
        "Youth_Code,Birth_Date,GemeenteCode,Income,Support_Need,Accepted_Types,Anchors",
        'J-0100,15-03-2005,GM0796,"1050,75",2,kma,"school@149800,411500"',
    )
    with unit_of_work(reference) as session:
        import_youths(session, write(tmp_path, "youths.csv", comma), today=TODAY)
    with reference() as session:
        (youth,) = load_youths(session)
    assert youth.income == 1050.75 and youth.anchors[0].x == 149800


def test_youths_every_bad_row_reported(reference: Factory, tmp_path: Path) -> None:
    header = (
        "youth_code;birth_date;gemeentecode;income;support_need;accepted_types;"
        "preferred_areas;anchors;no_go_codes;no_go_wkt;urgency;companions;regisseur"
    )
    path = write(
        tmp_path,
        "youths.csv",
        table(
            header,
            "J-1;2027-01-01;GM0796;900;1;kma;;;;;;;",
            "J-2;1990-01-01;GM0796;900;1;kma;;;;;;;",
            "J-3;2006-01-01;GM0796;900;4;;;;;;6;;",
            "J-4;2006-01-01;GM9999;900;1;kma|castle;BU07969999|XX12;;;;;;",
            "J-5;2006-01-01;GM0796;900;1;kma;;school@5.3,51.7|thuis;;"
            "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0));;J-77;planner@example.nl",
            "J-6;2006-01-01;GM0796;-5;1;kma|kma;;;;POINT (1 2);;J-6;niemand@example.nl",
        ),
    )
    errors = _refused(reference, "youths", path, today=TODAY)
    assert errors == [
        "rij 2, veld birth_date: de geboortedatum ligt in de toekomst (in het bestand: 2027-01-01)",
        "rij 3, veld birth_date: leeftijd 36 ligt niet tussen 14 en 30 jaar (in het bestand: "
        "1990-01-01)",
        "rij 4, veld accepted_types: dit veld is verplicht",
        "rij 4, veld support_need: hoogstens 3 (in het bestand: 4)",
        "rij 4, veld urgency: hoogstens 5 (in het bestand: 6)",
        "rij 5, veld accepted_types: onbekend woningtype castle",
        "rij 5, veld gemeentecode: onbekend gebied GM9999",
        "rij 5, veld preferred_areas: onbekend gebied BU07969999",
        "rij 6, veld anchors: anker 'thuis': verwacht label@x,y",
        "rij 6, veld companions: onbekende jongere J-77 (niet in dit bestand of de database)",
        "rij 6, veld no_go_wkt: getekend gebied 1: de rand van het no-go-gebied snijdt zichzelf; "
        "teken het opnieuw",
        "rij 6, veld regisseur: planner@example.nl heeft rol planner, niet regisseur",
        "rij 7, veld accepted_types: kma staat er twee keer in",
        "rij 7, veld companions: J-6 is de jongere zelf",
        "rij 7, veld income: mag niet negatief zijn (in het bestand: -5)",
        "rij 7, veld no_go_wkt: getekend gebied 1: een no-go-gebied moet een vlak (polygoon) zijn",
        "rij 7, veld regisseur: onbekende gebruiker niemand@example.nl",
    ]


def test_youth_companions_may_be_in_the_database(reference: Factory, tmp_path: Path) -> None:
    with unit_of_work(reference) as session:
        import_youths(
            session,
            write(tmp_path, "a.csv", table(YOUTH_HEADER, *YOUTHS.split("\n")[2:3])),
            today=TODAY,
        )
    later = table(
        "youth_code;birth_date;gemeentecode;income;support_need;accepted_types;companions",
        "J-0009;2006-01-01;GM0796;900;1;friends;J-0002",
    )
    with unit_of_work(reference) as session:
        import_youths(session, write(tmp_path, "b.csv", later), today=TODAY)
    with reference() as session:
        youths = {y.code: y for y in load_youths(session)}
    assert youths["J-0002"].companions == ("J-0009",)
    assert youths["J-0009"].companions == ("J-0002",)


def test_reimport_is_an_upsert(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
        session.execute(
            update(HousingOption).where(HousingOption.code == "OPT-001").values(status="placed")
        )
    with session_factory() as session:
        ids = {c: i for c, i in session.execute(select(Youth.code, Youth.id))}
    changed_options = OPTIONS.replace("450,50", "470").replace("OPT-004", "OPT-005")
    changed_youths = table(
        YOUTH_HEADER,
        "J-0001;2006-05-01;GM0796;1200;2;friends;;;;;;;;;;;;;;;ja",
    )
    with unit_of_work(session_factory) as session:
        options = import_options(session, write(tmp_path, "o2.csv", changed_options))
        youths = import_youths(session, write(tmp_path, "y2.csv", changed_youths), today=TODAY)
    assert (options.inserted, options.updated) == (1, 3)
    assert (youths.inserted, youths.updated) == (0, 1)
    with session_factory() as session:
        option = session.scalars(select(HousingOption).where(HousingOption.code == "OPT-001")).one()
        assert (option.kale_huur, option.status) == (470, "placed")  # status kept
        assert session.scalar(select(func.count()).select_from(HousingOption)) == 5
        youth = {y.code: y for y in load_youths(session)}
        assert {c: i for c, i in session.execute(select(Youth.code, Youth.id))} == ids
        assert (
            session.scalar(
                select(func.count())
                .select_from(YouthAcceptedType)
                .where(YouthAcceptedType.youth_id == ids["J-0001"])
            )
            == 1
        )
    j1 = youth["J-0001"]
    assert (j1.income, j1.support_need, j1.accepted_types) == (1200, 2, ("friends",))
    assert j1.anchors == () and j1.no_go_codes == () and j1.no_go_polygons == ()
    # The file is authoritative for J-0001's relations, including the mirrored companion link.
    assert j1.companions == () and j1.conflicts == () and youth["J-0002"].companions == ()


def test_failure_while_writing_leaves_nothing(reference: Factory, tmp_path: Path) -> None:
    path = write(tmp_path, "youths.csv", YOUTHS)
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done > total // 2:  # the write phase: youth rows are already inserted
            raise RuntimeError("stroomstoring")

    with pytest.raises(RuntimeError), unit_of_work(reference) as session:
        import_youths(session, path, today=TODAY, progress=progress)
    assert calls[-1][0] > calls[-1][1] // 2
    with reference() as session:
        assert session.scalar(select(func.count()).select_from(Youth)) == 0


def test_database_error_while_writing_becomes_import_failed(
    reference: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importers._bulk_insert

    def failing(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
        if model is YouthRelation:
            raise SQLAlchemyError("kapot")
        real(session, model, rows)

    monkeypatch.setattr(importers, "_bulk_insert", failing)
    errors = _refused(reference, "youths", write(tmp_path, "youths.csv", YOUTHS), today=TODAY)
    assert errors == ["databasefout tijdens schrijven, niets opgeslagen: kapot"]
    with reference() as session:
        assert session.scalar(select(func.count()).select_from(YouthRelation)) == 0


def test_progress_reaches_total(reference: Factory, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    with unit_of_work(reference) as session:
        import_options(
            session, write(tmp_path, "o.csv", OPTIONS), progress=lambda d, t: calls.append((d, t))
        )
    assert calls[-1] == (8, 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_contingents(reference: Factory, tmp_path: Path) -> None:
    with unit_of_work(reference) as session:
        report = import_contingents(session, write(tmp_path, "c.csv", CONTINGENTS))
    assert report.inserted == 4
    bad = table(
        "corporatie;gemeentecode;year;type;amount;used",
        "CORP1;GM0796;2026;;10;-1",
        "ZORG1;GM0796;2026;;10;0",
        "CORP1;GM0797;2026;castle;10;0",
        "CORP2;GM0796;2026;kma;3;0",
        "CORP2;GM0796;2026;kma;4;0",
        "CORP2;GM0796;1999;;-4;0",
    )
    assert _refused(reference, "contingents", write(tmp_path, "bad.csv", bad)) == [
        "rij 2, veld used: negatieve hoeveelheid (-1)",
        "rij 3, veld corporatie: ZORG1 is geen corporatie maar zorgaanbieder",
        "rij 4, veld gemeentecode: onbekende gemeente GM0797",
        "rij 4, veld type: onbekend woningtype castle",
        "rij 5, veld corporatie: contingent CORP2/GM0796/2026/kma komt 2 keer voor (rij 5, 6)",
        "rij 7, veld amount: mag niet negatief zijn (in het bestand: -4)",
        "rij 7, veld year: minstens 2000 (in het bestand: 1999)",
    ]
    again = CONTINGENTS.replace("CORP1;GM0796;2026;;10;2", "CORP1;GM0796;2026;;12;3")
    with unit_of_work(reference) as session:
        report = import_contingents(session, write(tmp_path, "c2.csv", again))
    assert (report.inserted, report.updated) == (0, 4)
    with reference() as session:
        amounts = {(a, u) for a, u in session.execute(select(Contingent.amount, Contingent.used))}
    assert (12, 3) in amounts and (10, 2) not in amounts


def test_organisations_users_and_types_validation(reference: Factory, tmp_path: Path) -> None:
    orgs = table("code;name;kind;gemeentecode", "X1;X;bank;", "X2;X;gemeente;", "X3;;regio;GM12")
    assert _refused(reference, "organisations", write(tmp_path, "o.csv", orgs)) == [
        "rij 2, veld kind: kies een waarde uit de lijst (gemeente, corporatie, zorgaanbieder of "
        "regio) (in het bestand: bank)",
        "rij 3, veld gemeentecode: is verplicht voor een gemeente",
        "rij 4, veld gemeentecode: heeft niet de juiste vorm (GM gevolgd door vier cijfers) (in "
        "het bestand: GM12)",
        "rij 4, veld name: dit veld is verplicht",
    ]
    users = table(
        "email;name;role;organisation",
        "a@example.nl;A;corporatie;GM0796",
        "b@example.nl;B;koning;GM0796",
        "c-example.nl;C;planner;NOPE",
    )
    assert _refused(reference, "users", write(tmp_path, "u.csv", users)) == [
        "rij 2, veld organisation: rol corporatie hoort bij een organisatie van soort "
        "corporatie, GM0796 is gemeente",
        "rij 3, veld role: kies een waarde uit de lijst (admin, gemeente, corporatie, regisseur, "
        "planner of privacy) (in het bestand: koning)",
        "rij 4, veld email: heeft niet de juiste vorm (bijvoorbeeld naam@organisatie.nl) (in het "
        "bestand: c-example.nl)",
        "rij 4, veld organisation: onbekende organisatie NOPE",
    ]
    types = table(
        "code;name;min_age;max_age;zelfstandig;provider_contract;persons_min;persons_max;"
        "support_min;support_max",
        "x;X;23;18;misschien;nee;0;1;0;4",
    )
    assert _refused(reference, "types", write(tmp_path, "t.csv", types)) == [
        "rij 2, veld max_age: mag niet lager zijn dan de minimumleeftijd (23) (in het bestand: 18)",
        "rij 2, veld persons_min: minstens 1 (in het bestand: 0)",
        "rij 2, veld support_max: hoogstens 3 (in het bestand: 4)",
        "rij 2, veld zelfstandig: geen ja/nee-waarde: 'misschien' (gebruik ja/nee, true/false "
        "of 1/0)",
    ]
    # Upsert by e-mail, case-insensitive; the password hash is left alone.
    with unit_of_work(reference) as session:
        session.execute(update(User).values(password_hash="x"))
        report = import_users(
            session,
            write(
                tmp_path,
                "u2.csv",
                "email;name;role;organisation\nPLANNER@example.nl;P2;planner;GM0796\n",
            ),
        )
    assert (report.inserted, report.updated) == (0, 1)
    with reference() as session:
        user = session.scalars(select(User).where(User.email == "planner@example.nl")).one()
    assert (user.name, user.password_hash) == ("P2", "x")


def test_unknown_kind(session_factory: Factory, tmp_path: Path) -> None:
    with session_factory() as session, pytest.raises(ValueError, match="onbekende soort"):
        import_file(session, "castles", tmp_path / "x.csv")


def test_conflict_found_only_by_the_database_rolls_back(reference: Factory, tmp_path: Path) -> None:
    """A type deleted between checking and writing: the database refuses, nothing stays."""

    def progress(done: int, total: int) -> None:
        if done == total // 2:  # checks done, nothing written yet: a concurrent delete
            session.execute(delete(HousingType).where(HousingType.code == "kma"))

    with pytest.raises(ImportFailed, match="databasefout"), unit_of_work(reference) as session:
        import_options(session, write(tmp_path, "options.csv", OPTIONS), progress=progress)
    with reference() as session:
        assert session.scalar(select(func.count()).select_from(HousingOption)) == 0
        assert session.scalar(select(func.count()).select_from(HousingType)) == 3


def test_import_file_options(reference: Factory, tmp_path: Path) -> None:
    path = write(tmp_path, "options.csv", OPTIONS)
    with reference() as session, pytest.raises(ValueError, match="kent geen optie crs"):
        import_file(session, "options", path, crs="EPSG:28992")
    with unit_of_work(reference) as session:
        report = import_file(session, "options", path, crs=None)
    assert (report.count, str(report)) == (4, "options: 4 nieuw, 0 bijgewerkt")


def test_missing_column_named_by_the_importer(reference: Factory, tmp_path: Path) -> None:
    text = OPTIONS.replace(";kale_huur;", ";huur;")
    errors = _refused(reference, "options", write(tmp_path, "options.csv", text))
    assert errors == ["rij 1, veld kale_huur: verplichte kolom ontbreekt"]


def test_duplicates_flagged_even_on_rows_with_other_errors(
    reference: Factory, tmp_path: Path
) -> None:
    text = table(
        "youth_code;birth_date;gemeentecode;income;support_need;accepted_types",
        "J-1;2006-01-01;GM0796;900;1;kma",
        "J-1;2099-01-01;GM0796;900;1;kma",
        "J-2;2006-01-01;GM0796;900;1;kma",
    )
    options = table(
        OPTION_HEADER,
        "OPT-1;kma;CORP1;145000;405000;;;;-1;0;1;;2026-01-01;ja",  # bad rent, elsewhere
        "OPT-2;friends;CORP1;145000;405000;;;;450;0;1;H9;2026-01-01;ja",
        "OPT-3;kma;CORP1;145000;405000;;;;450;0;1;H9;2026-01-01;ja",
    )
    assert _refused(reference, "youths", write(tmp_path, "y.csv", text), today=TODAY) == [
        "rij 2, veld youth_code: J-1 komt 2 keer voor (rij 2, 3)",
        "rij 3, veld birth_date: de geboortedatum ligt in de toekomst (in het bestand: 2099-01-01)",
    ]
    assert _refused(reference, "options", write(tmp_path, "o.csv", options)) == [
        "rij 2, veld kale_huur: mag niet negatief zijn (in het bestand: -1)",
        "rij 3, veld shared_house_id: huis H9 heeft woningen van verschillende typen",
        "rij 4, veld shared_house_id: huis H9 heeft woningen van verschillende typen",
    ]

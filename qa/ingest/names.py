"""Names: the country as a citation names it, and the country and year a report file's name
suggests (for text that does not say them)."""

from __future__ import annotations

import re

from ..document import Report


def country_name(printed: str) -> str:
    """The country as a citation names it: 'KAZAKHSTAN' -> 'Kazakhstan', 'CÔTE D’IVOIRE' ->
    'Côte d’Ivoire', 'BOSNIA AND HERZEGOVINA' -> 'Bosnia and Herzegovina'; mixed case stays."""
    from .series import MINOR_WORDS

    printed = " ".join(printed.split())
    if not printed.isupper():
        return printed
    words = []
    for i, word in enumerate(printed.lower().split(" ")):
        if i and word in MINOR_WORDS:
            words.append(word)
            continue
        # capitals after hyphens and after a one-letter elision: "Guinea-Bissau", "d’Ivoire"
        word = re.sub(r"(^|-)([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(), word)
        word = re.sub(r"^([a-z])([’'])([a-zà-ÿ])", lambda m: m.group(1) + m.group(2) + m.group(3).upper(), word)
        words.append(word)
    return " ".join(words)


NAME_NOISE = frozenset("human rights report reports country practices hrr cr us md txt pdf en final".split())


def name_hints(stem: str) -> tuple[str | None, int | None]:
    """(country, year) a report file's name suggests, for text that does not say them (a web
    page saved without its title): 'algeria-2012' and '2012_Algeria' -> ('Algeria', 2012)."""
    years = re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", stem)
    words = [w for w in re.split(r"[^A-Za-z’']+", stem) if w and w.lower() not in NAME_NOISE]
    country = " ".join(w if not w.islower() else w.capitalize() for w in words) or None
    if country and country.isupper():
        country = country_name(country)
    return country, (int(years[0]) if years else None)


def fill_from_name(report: Report, stem: str, fallback_title: str) -> None:
    """Country and year from the file's name where the text gives none (structured reports only)."""
    if not report.structured:
        return
    country, year = name_hints(stem)
    if report.country is None and country:
        report.country = country
        if report.title == fallback_title:
            report.title = country
    if report.year is None and year:
        report.year = year


# The world's countries as reports and questions name them (the series covers ~200 of them), for
# telling which country a question is about ("and in Kyrgyzstan?"). Lower case, as matched.
COUNTRIES = frozenset("""
afghanistan albania algeria andorra angola antigua argentina armenia australia austria azerbaijan bahamas bahrain
bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia botswana brazil brunei bulgaria burkina
burma burundi cambodia cameroon canada chad chile china colombia comoros congo croatia cuba cyprus czech
denmark djibouti dominica ecuador egypt eritrea estonia eswatini ethiopia fiji finland france gabon gambia
georgia germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland india indonesia iran
iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati korea kosovo kuwait kyrgyzstan kyrgyz
laos latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg macedonia madagascar malawi malaysia
maldives mali malta mauritania mauritius mexico micronesia moldova monaco mongolia montenegro morocco mozambique
myanmar namibia nauru nepal netherlands nicaragua niger nigeria norway oman pakistan palau panama paraguay peru
philippines poland portugal qatar romania russia rwanda samoa senegal serbia seychelles singapore slovakia slovenia
somalia spain sudan suriname swaziland sweden switzerland syria taiwan tajikistan tanzania thailand togo tonga
trinidad tunisia turkey turkmenistan tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen
zambia zimbabwe
""".split())

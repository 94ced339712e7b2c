"""The known outline of the *Country Reports on Human Rights Practices*, in every era.

The series has kept one scheme since the 1990s (an executive summary or introduction, numbered
sections with lettered subsections, stand-alone and run-in headings) but its titles changed:
Section 3 was "Respect for Political Rights: The Right of Citizens to Change Their Government"
until 2016 and "Freedom to Participate in the Political Process" after; worker rights were
Section 6 until 2007 and Section 7 since; "Torture and Other Cruel, Inhuman, or Degrading
Treatment or Punishment" gained ", and Other Related Abuses" in 2023. The parser
(qa/ingest/parse.py, qa/ingest/layouts.py) does not need these titles to find headings marked as such
("Section 3.", "c.", "####"); it uses them where the text alone leaves a doubt: to join a
heading wrapped over several lines, to know that a heading is complete, to recognise a
heading printed without its marker, and to accept a run-in heading written in sentence case
("Birth registration:").
"""

from __future__ import annotations

import re
from functools import lru_cache

# Section titles, by number; a title may have had several numbers over the years.
SECTION_TITLES: dict[str, tuple[int, ...]] = {
    "Respect for the Integrity of the Person, Including Freedom from": (1,),
    "Respect for the Integrity of the Person": (1,),
    "Respect for Civil Liberties, Including": (2,),
    "Respect for Civil Liberties": (2,),
    "Respect for Political Rights: The Right of Citizens to Change Their Government": (3,),
    "Respect for Political Rights": (3,),
    "Freedom to Participate in the Political Process": (3,),
    "Governmental Attitude Regarding International and Nongovernmental Investigation of Alleged Violations of Human Rights": (4, 5),
    "Governmental Posture Towards International and Nongovernmental Investigation of Alleged Abuses of Human Rights": (5,),
    "Governmental Posture Towards International and Nongovernmental Monitoring and Investigation of Alleged Abuses of Human Rights": (5,),
    "Official Corruption and Government Transparency": (4,),
    "Corruption and Lack of Transparency in Government": (4,),
    "Corruption in Government": (4,),
    "Discrimination Based on Race, Sex, Religion, Disability, Language, or Social Status": (5,),
    "Discrimination Based on Race, Sex, Disability, Language, or Social Status": (5,),
    "Discrimination, Societal Abuses, and Trafficking in Persons": (5, 6),
    "Discrimination, Societal Abuses and Trafficking in Persons": (5, 6),
    "Discrimination and Societal Abuses": (6,),
    "Worker Rights": (6, 7),
}

# Lettered subsection titles (without their letter), of every era.
LETTERED_TITLES = (
    # Section 1
    "Political and Other Extrajudicial Killing",
    "Political and Other Extrajudicial Killings",
    "Arbitrary or Unlawful Deprivation of Life",
    "Arbitrary Deprivation of Life and Other Unlawful or Politically Motivated Killings",
    "Disappearance",
    "Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment",
    "Torture and Other Cruel, Inhuman, or Degrading Treatment or Punishment, and Other Related Abuses",
    "Arbitrary Arrest, Detention, or Exile",
    "Arbitrary Arrest or Detention",
    "Denial of Fair Public Trial",
    "Arbitrary Interference with Privacy, Family, Home, or Correspondence",
    "Arbitrary or Unlawful Interference with Privacy, Family, Home, or Correspondence",
    "Use of Excessive Force and Violations of Humanitarian Law in Internal Conflicts",
    "Use of Excessive Force and Other Abuses in Internal Conflicts",
    "Abuses in Internal Conflict",
    "Abuses in Internal Conflicts",
    "Conflict-related Abuses",
    "Transnational Repression",
    "Property Seizure and Restitution",
    # Section 2
    "Freedom of Speech and Press",
    "Freedom of Speech and of the Press",
    "Freedom of Expression, Including for the Press",
    "Freedom of Expression, Including for Members of the Press and Other Media",
    "Freedom of Peaceful Assembly and Association",
    "Freedoms of Peaceful Assembly and Association",
    "Freedom of Religion",
    "Freedom of Movement Within the Country, Foreign Travel, Emigration, and Repatriation",
    "Freedom of Movement, Internally Displaced Persons, Protection of Refugees, and Stateless Persons",
    "Freedom of Movement",
    "Freedom of Movement and the Right to Leave the Country",
    "Internally Displaced Persons",
    "Status and Treatment of Internally Displaced Persons",
    "Protection of Refugees",
    "Stateless Persons",
    # Worker rights (Section 6 until 2007, Section 7 since)
    "The Right of Association",
    "The Right to Organize and Bargain Collectively",
    "Freedom of Association and the Right to Collective Bargaining",
    "Prohibition of Forced or Compulsory Labor",
    "Prohibition of Forced or Bonded Labor",
    "Status of Child Labor Practices and Minimum Age for Employment",
    "Prohibition of Child Labor and Minimum Age for Employment",
    "Discrimination with Respect to Employment and Occupation",
    "Discrimination",
    "Acceptable Conditions of Work",
    "Trafficking in Persons",
)

# Stand-alone sub-headings and run-in headings the series uses (either may appear as the other).
HEADINGS = (
    "Introduction",
    "Prison and Detention Center Conditions",
    "Physical Conditions",
    "Abusive Physical Conditions",
    "Administration",
    "Independent Monitoring",
    "Monitoring",
    "Improvements",
    "Role of the Police and Security Apparatus",
    "Arrest Procedures and Treatment While in Detention",
    "Arrest Procedures and Treatment of Detainees",
    "Arbitrary Arrest",
    "Pretrial Detention",
    "Detainee’s Ability to Challenge Lawfulness of Detention before a Court",
    "Amnesty",
    "Exile",
    "Trial Procedures",
    "Political Prisoners and Detainees",
    "Civil Judicial Procedures and Remedies",
    "Regional Human Rights Court Decisions",
    "Property Restitution",
    "Threats, Harassment, Surveillance, and Coercion",
    "Extraterritorial Killing, Kidnapping, Forced Returns, or Other Violence or Threats of Violence",
    "Misuse of International Law Enforcement Tools",
    "Efforts to Control Mobility",
    "Bilateral Pressure",
    "Killings",
    "Abductions",
    "Physical Abuse, Punishment, and Torture",
    "Child Soldiers",
    "Other Conflict-related Abuse",
    "Status of Freedom of Speech and Press",
    "Freedom of Expression",
    "Freedom of Speech",
    "Freedom of Press",
    "Freedom of Press and Media, Including Online Media",
    "Violence and Harassment",
    "Censorship or Content Restrictions",
    "Censorship or Content Restrictions for Members of the Press and Other Media, Including Online Media",
    "Libel Laws/National Security",
    "Libel/Slander Laws",
    "National Security",
    "Nongovernmental Impact",
    "Publishing Restrictions",
    "Actions to Expand Press Freedom",
    "Internet Freedom",
    "Academic Freedom and Cultural Events",
    "Freedom of Assembly",
    "Freedom of Peaceful Assembly",
    "Freedom of Association",
    "In-country Movement",
    "Foreign Travel",
    "Emigration and Repatriation",
    "Citizenship",
    "Internally Displaced Persons (IDPs)",
    "Abuse of Migrants, Refugees, and Stateless Persons",
    "Access to Asylum",
    "Refoulement",
    "Refugee Abuse",
    "Freedom of Movement",
    "Employment",
    "Access to Basic Services",
    "Durable Solutions",
    "Temporary Protection",
    "Detention of Rejected Asylum Seekers or Stateless Persons",
    "Use of Excessive Force and Other Abuses in Internal Conflicts",
    "Elections and Political Participation",
    "Recent Elections",
    "Political Parties",
    "Political Parties and Political Participation",
    "Participation of Women and Minorities",
    "Participation of Women and Members of Minority Groups",
    "Participation of Women and Members of Marginalized or Vulnerable Groups",
    "Corruption",
    "Financial Disclosure",
    "Public Access to Information",
    "UN and Other International Bodies",
    "Government Human Rights Bodies",
    "Retribution against Human Rights Defenders",
    "Women",
    "Rape and Domestic Violence",
    "Female Genital Mutilation/Cutting (FGM/C)",
    "Female Genital Mutilation (FGM)",
    "Other Harmful Traditional Practices",
    "Harmful Traditional Practices",
    "Sexual Harassment",
    "Reproductive Rights",
    "Coercion in Population Control",
    "Discrimination",
    "Gender-based Violence",
    "Gender-based Sex Selection",
    "Children",
    "Birth Registration",
    "Education",
    "Child Abuse",
    "Early and Forced Marriage",
    "Child, Early, and Forced Marriage",
    "Sexual Exploitation of Children",
    "Displaced Children",
    "Institutionalized Children",
    "International Child Abduction",
    "International Child Abductions",
    "Anti-Semitism",
    "Antisemitism",
    "Trafficking in Persons",
    "Persons with Disabilities",
    "National/Racial/Ethnic Minorities",
    "Systemic Racial or Ethnic Violence and Discrimination",
    "Indigenous People",
    "Indigenous Peoples",
    "Societal Abuses, Discrimination, and Acts of Violence Based on Sexual Orientation and Gender Identity",
    "Acts of Violence, Discrimination, and Other Abuses Based on Sexual Orientation and Gender Identity",
    "Acts of Violence, Criminalization, and Other Abuses Based on Sexual Orientation and Gender Identity",
    "Acts of Violence, Criminalization, and Other Abuses Based on Sexual Orientation, Gender Identity or Expression, or Sex Characteristics",
    "HIV and AIDS Social Stigma",
    "Other Societal Violence or Discrimination",
    "Promotion of Acts of Discrimination",
    "Wage and Hour Laws",
    "Occupational Safety and Health",
    "Wage, Hour, and OSH Enforcement",
    "Informal Sector",
)

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def norm(text: str) -> str:
    """A title as compared: lower case, one space, plain quotes, no closing colon or full stop."""
    text = " ".join(text.translate(_APOSTROPHES).split()).lower()
    return text.rstrip(" :.")


@lru_cache(maxsize=1)
def _sets() -> tuple[dict[str, tuple[int, ...]], frozenset[str], frozenset[str]]:
    return (
        {norm(t): n for t, n in SECTION_TITLES.items()},
        frozenset(norm(t) for t in LETTERED_TITLES),
        frozenset(norm(t) for t in HEADINGS) | frozenset(norm(t) for t in LETTERED_TITLES),
    )


def _titles(kind: str) -> frozenset[str] | dict:
    sections, lettered, headings = _sets()
    return {"section": sections, "lettered": lettered, "heading": headings}[kind]


def is_known(title: str, kind: str) -> bool:
    """Whether `title` is one of the series' titles of this kind: "section" (a Section's title
    without "Section N."), "lettered" (without its letter) or "heading" (a sub-heading, run-in
    heading or lettered title)."""
    return norm(title) in _titles(kind)


def is_known_prefix(title: str, kind: str) -> bool:
    """Whether `title` is the beginning (whole words) of a longer known title of this kind:
    a heading that goes on on the next line."""
    t = norm(title)
    if not t:
        return False
    return any(k != t and k.startswith(t) and not k[len(t)].isalnum() for k in _titles(kind))


def section_numbers(title: str) -> tuple[int, ...]:
    """The numbers a known Section title has had (empty: not a known Section title)."""
    return _sets()[0].get(norm(title), ())


# Web pages leave their buttons glued to headings ("...of Human RightsShare"), or on lines of their own.
RESIDUE_WORDS = ("Share", "Print", "Email", "E-mail", "Tweet", "Facebook", "Twitter", "Back to Top", "Top of Page")
_RESIDUE_ALT = "|".join(re.escape(w) for w in RESIDUE_WORDS)
RESIDUE_TAIL_RE = re.compile(rf"(?:(?<=[a-z)\]])|\s+)(?:{_RESIDUE_ALT})(?:\s*(?:{_RESIDUE_ALT}))*\s*$")
RESIDUE_LINE_RE = re.compile(rf"^(?:{_RESIDUE_ALT})(?:\s*[|•·]?\s*(?:{_RESIDUE_ALT}))*$", re.IGNORECASE)


def strip_residue(heading: str) -> str:
    """A heading without the web page's buttons glued to its end ("Human RightsShare")."""
    return RESIDUE_TAIL_RE.sub("", heading).rstrip()


MINOR_WORDS = frozenset(
    "a an the and or nor but of in on for to with at by from as into via per vs".split()
)

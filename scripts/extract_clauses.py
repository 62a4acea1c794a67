"""One-off: cut the five seed documents into clause skeletons (verbatim text + units as printed).

The YAML it wrote was then annotated by hand (titles, audience, benefits, amounts, conditions,
cases). Kept so the team can see how the verbatim texts were obtained; re-running it prints the
skeleton to stdout and never overwrites the curated files.

Usage: python scripts/extract_clauses.py SEEDS_DIR  (the folder holding 000_*.txt … 004_*.txt;
nothing in the portal, its tests or CI needs it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

CN_NUM = "一二三四五六七八九十"


def squash(text: str) -> str:
    return re.sub(r"[\s\u3000\xa0]+", "", text)


def split_units(names: str) -> list[str]:
    # "各市、县级政府" is one unit although it contains the list separator.
    names = names.replace("及各市、县级政府", "、各市、县级政府").replace("各市、县级政府", "各市县级政府")
    parts = [p for p in re.split(r"[、，,]", names) if p]
    return [p.replace("各市县级政府", "各市、县级政府") for p in parts]


def parse_responsibility(paren: str) -> tuple[list[str], list[str]]:
    body = re.sub(r"^(责任部门|责任单位)：", "", paren)
    lead: list[str] = []
    coop: list[str] = []
    for seg in re.split(r"[，,]", body):
        seg = seg.strip()
        m = re.match(r"(.+?)(分别牵头|牵头|分别负责|负责|配合)$", seg)
        if not m:
            lead += split_units(seg)
        elif m.group(2) == "配合":
            coop += split_units(m.group(1))
        else:
            lead += split_units(m.group(1))
    return lead, coop


def cn(n: int) -> str:
    if n <= 10:
        return CN_NUM[n - 1]
    tens, ones = divmod(n, 10)
    return (CN_NUM[tens - 1] if tens > 1 else "") + "十" + (CN_NUM[ones - 1] if ones else "")


def sequential_starts(body: str, labels: list[str]) -> list[int]:
    """Find each label in order, each after the previous one (clause numbers also occur in text)."""
    starts, pos = [], 0
    for label in labels:
        m = re.compile(label).search(body, pos)
        if m is None:
            raise ValueError(f"clause {label!r} not found")
        starts.append(m.start())
        pos = m.end()
    return starts


def clauses(doc: str, text: str) -> list[dict]:
    flat = squash(text)
    if doc == "000":
        body = flat[flat.index("（一）打造特色园区"): flat.index("为扎实推动省局6项")]
        labels = [f"（{cn(n)}）" for n in range(1, 7)]
    elif doc == "001":
        body = flat[flat.index("一、营造创新发展环境"):]
        labels = [f"（{cn(n)}）" for n in range(1, 26)]
    elif doc == "002":
        body = flat[flat.index("一、立足"): flat.index("以上措施自印发之日起试行")]
        labels = [f"(?<![^。）]){cn(n)}、" for n in range(1, 15)]
        labels[0] = "一、"
    elif doc == "003":
        body = flat[flat.index("1.突出原始创新"):]
        labels = [rf"{n}\.(?=[\u4e00-\u9fff])" for n in range(1, 26)]
        labels += [r"(?<=保障措施)（一）", r"\(二\)", r"\(三\)", r"\(四\)"]
    else:
        body = flat[flat.index("（一）加强组织领导"):]
        labels = [f"（{cn(n)}）" for n in range(1, 29)]
    starts = sequential_starts(body, labels)
    out = []
    for i, s in enumerate(starts):
        chunk = body[s: starts[i + 1] if i + 1 < len(starts) else len(body)]
        # drop trailing part/group headings such as "二、全面提升政务服务水平"
        chunk = re.sub(r"四、保障措施$", "", chunk)
        chunk = re.sub(r"[一二三四五六七八九十]+、[^。）]{2,20}$", "", chunk)
        if doc == "003":
            chunk = re.sub(r"（[一二三四五六七八九十]+）[^。]{2,25}$", "", chunk)
        num = re.match(r"\d+\.|[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+、", chunk).group(0)
        paren = re.search(r"（([^（）]*(牵头|负责|配合|责任单位：[^（）]*))）$", chunk)
        lead, coop = parse_responsibility(paren.group(1)) if paren else ([], [])
        out.append({"clause": num, "text": chunk, "responsibility_as_printed": paren.group(1) if paren else "",
                    "lead_units": lead, "cooperating_units": coop})
    return out


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        sys.exit("usage: python scripts/extract_clauses.py SEEDS_DIR")
    for path in sorted(Path(sys.argv[1]).glob("0*.txt")):
        doc = path.name[:3]
        items = clauses(doc, path.read_text(encoding="utf-8"))
        print(f"# {doc}: {len(items)} clauses", file=sys.stderr)
        for n, item in enumerate(items, 1):
            item["id"] = f"d{doc}-{n:02d}"
        yaml.safe_dump(items, sys.stdout, allow_unicode=True, sort_keys=False, width=1000)


if __name__ == "__main__":
    main()

"""Export: highlight reels, editor timelines and contact sheets from scored moments."""

from vsearch.export.chapters import Chapter, read_chapters
from vsearch.export.contact_sheet import contact_sheet
from vsearch.export.edl import read_edl
from vsearch.export.highlights import highlight_segments
from vsearch.export.reel import ExportReport, export_reel
from vsearch.export.segments import Moment, Segment, plan_segments
from vsearch.export.timeline import FORMATS, write_timeline

__all__ = [
    "FORMATS",
    "Chapter",
    "ExportReport",
    "Moment",
    "Segment",
    "contact_sheet",
    "export_reel",
    "highlight_segments",
    "plan_segments",
    "read_chapters",
    "read_edl",
    "write_timeline",
]

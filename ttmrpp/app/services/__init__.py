"""Plain, tested functions behind the app's tabs (no UI code): each takes the loaded
`Services` and returns plain data; bad input raises `QueryError` with a message for people.

    from ttmrpp.app import services
    result = services.search_text(loaded, "calm piano", k=10)
"""

from ttmrpp.app.services.atlas import atlas_figure, atlas_points, tag_categories
from ttmrpp.app.services.captions import (
    caption_compare,
    caption_compare_stream,
    caption_stream,
    parse_tag_text,
)
from ttmrpp.app.services.collection import (
    IndexReport,
    collection_info,
    index_folder,
    index_uploaded_files,
)
from ttmrpp.app.services.common import (
    DEFAULT_K,
    MAX_K,
    MAX_QUERY_SECONDS,
    MIN_QUERY_SECONDS,
    Progress,
    QueryError,
    Services,
    audio_duration,
    check_count,
    check_text,
    load_query_audio,
)
from ttmrpp.app.services.search import (
    RESULT_COLUMNS,
    SearchResult,
    example_queries,
    hit_row,
    result_table,
    search,
    search_audio,
    search_hybrid,
    search_text,
)

__all__ = [
    "DEFAULT_K", "MAX_K", "MAX_QUERY_SECONDS", "MIN_QUERY_SECONDS", "RESULT_COLUMNS",
    "IndexReport", "Progress", "QueryError", "SearchResult", "Services", "atlas_figure",
    "atlas_points", "audio_duration", "caption_compare", "caption_compare_stream",
    "caption_stream", "check_count", "check_text", "collection_info", "example_queries",
    "hit_row", "index_folder", "index_uploaded_files", "load_query_audio", "parse_tag_text",
    "result_table", "search", "search_audio", "search_hybrid", "search_text", "tag_categories",
]  # fmt: skip

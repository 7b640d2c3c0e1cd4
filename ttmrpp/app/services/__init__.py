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
    NOT_ALLOWED,
    IndexReport,
    collection_info,
    index_folder,
    index_uploaded_files,
    inside_roots,
)
from ttmrpp.app.services.common import (
    DEFAULT_K,
    MAX_K,
    MAX_QUERY_SECONDS,
    MIN_QUERY_SECONDS,
    Limits,
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
    now_playing,
    playable,
    result_table,
    search,
    search_audio,
    search_hybrid,
    search_text,
)
from ttmrpp.app.services.uploads import UploadStore, VisitorUploads, close_uploads

__all__ = [
    "DEFAULT_K", "MAX_K", "MAX_QUERY_SECONDS", "MIN_QUERY_SECONDS", "NOT_ALLOWED",
    "RESULT_COLUMNS", "IndexReport", "Limits", "Progress", "QueryError",
    "SearchResult", "Services", "UploadStore", "VisitorUploads", "atlas_figure",
    "atlas_points", "audio_duration", "caption_compare", "caption_compare_stream",
    "caption_stream", "check_count", "check_text", "close_uploads", "collection_info",
    "example_queries", "hit_row", "index_folder", "index_uploaded_files", "inside_roots",
    "load_query_audio", "now_playing", "parse_tag_text", "playable", "result_table", "search",
    "search_audio", "search_hybrid", "search_text", "tag_categories",
]  # fmt: skip

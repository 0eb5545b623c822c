"""Unauthorised-drone detection: sensor feeds -> detections -> judgement, tracks, incidents,
and a hash-chained evidence log."""

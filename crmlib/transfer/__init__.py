"""Data in and out: import templates, imports and exports of records as CSV and Excel files.

One package for both directions, since they share everything but their last step: a kind
of file (:mod:`.catalogue`) carries its columns (:mod:`.kinds`), the writer its imports
use (:mod:`.writers`) and the query its exports read (:mod:`.sources`), so an exported
file is a filled-in template (:mod:`.templates`) that imports back unchanged, with the
same formula quoting (:mod:`.formulas`). Imports read (:mod:`.reading`), check
(:mod:`.checking`) and write through one path, whose speed-ups sit behind the import
engine (:mod:`.engines`, with :mod:`.staging` and :mod:`.bulk`); :mod:`.importing` runs an
import and records it; :mod:`.exporting` writes an export.
"""

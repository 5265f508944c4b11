"""Thin Qt list models over plain Python data (napari's shape): a list of ids in display order and
a dict of plain records. Updates come from change records and touch only the rows they name.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, Signal

from faceorg.people.gui_support import FaceCard, PersonCard, SortKey, card_sort_key

Index = QModelIndex | QPersistentModelIndex

ID_ROLE = Qt.ItemDataRole.UserRole + 1
FACE_ROLE = Qt.ItemDataRole.UserRole + 2  # face id of the thumbnail to show
COUNT_ROLE = Qt.ItemDataRole.UserRole + 3
HIDDEN_ROLE = Qt.ItemDataRole.UserRole + 4
NAMED_ROLE = Qt.ItemDataRole.UserRole + 5
SOURCE_ROLE = Qt.ItemDataRole.UserRole + 6
STATUS_ROLE = Qt.ItemDataRole.UserRole + 7
PEOPLE_MIME = "application/x-faceorg-person-ids"


def display_name(name: str | None) -> str:
    return name if name else "Unnamed"


def faces_text(n: int) -> str:
    return f"{n:,} face" if n == 1 else f"{n:,} faces"


class PeopleModel(QAbstractListModel):
    """Person cards in display order, filtered by name and hidden state.

    All cards are kept (hidden ones too); ``visible`` is the filtered, sorted list of ids. Covers
    not chosen by the user are resolved later (``set_best_faces``).
    """

    rename_requested = Signal(int, str)  # person id, new name (from an in-place editor)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cards: dict[int, PersonCard] = {}
        self._best: dict[int, int] = {}
        self._ids: list[int] = []
        self._row: dict[int, int] = {}
        self._keys: list[SortKey] = []
        self._filter = ""
        self._show_hidden = False

    # -- queries ------------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        card = self._cards[self._ids[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_name(card.name)
        if role == Qt.ItemDataRole.EditRole:
            return card.name or ""
        if role == ID_ROLE:
            return card.id
        if role == FACE_ROLE:
            return self.cover_of(card)
        if role == COUNT_ROLE:
            return card.face_count
        if role == HIDDEN_ROLE:
            return card.hidden
        if role == NAMED_ROLE:
            return card.name is not None
        if role == Qt.ItemDataRole.ToolTipRole:
            hidden = " (hidden)" if card.hidden else ""
            return f"{display_name(card.name)}{hidden}: {faces_text(card.face_count)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{display_name(card.name)}, {faces_text(card.face_count)}"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid():
            return base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """An in-place rename: asks for it (the view runs the operation); the model changes on its record."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = " ".join(str(value).split())
        card = self._cards[self._ids[index.row()]]
        if name and name != card.name:
            self.rename_requested.emit(card.id, name)
        return False

    def cover_of(self, card: PersonCard) -> int | None:
        return card.cover_face_id if card.cover_face_id is not None else self._best.get(card.id)

    def card(self, person_id: int) -> PersonCard | None:
        return self._cards.get(person_id)

    def card_at(self, row: int) -> PersonCard:
        return self._cards[self._ids[row]]

    def row_of(self, person_id: int) -> int | None:
        return self._row.get(person_id)

    @property
    def visible_ids(self) -> list[int]:
        return list(self._ids)

    @property
    def total(self) -> int:
        return len(self._cards)

    def cards(self) -> list[PersonCard]:
        return list(self._cards.values())

    def without_cover(self, person_ids: Iterable[int]) -> list[int]:
        """Of these people, those whose cover face is not known yet."""
        return [p for p in person_ids if p in self._cards and self.cover_of(self._cards[p]) is None]

    # -- drag and drop: people cards carry their ids ----------------------------------------------
    def mimeTypes(self) -> list[str]:
        return [PEOPLE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [str(self._ids[i.row()]) for i in indexes if i.isValid()]
        mime.setData(PEOPLE_MIME, ",".join(ids).encode())
        return mime

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    # -- changes ------------------------------------------------------------------------------------
    def set_cards(self, cards: Iterable[PersonCard], best: dict[int, int] | None = None, *,
                  keep_covers: bool = False, keys: list[SortKey] | None = None) -> None:
        """Replace everything (a load); ``keep_covers``: the covers found so far stay (those of people whose
        card is unchanged); ``keys``: ``cards`` are in display order and these are their sort keys (found by
        the worker: the GUI thread neither sorts nor computes keys)."""
        cards = list(cards)
        self.beginResetModel()
        old = self._cards
        self._cards = {c.id: c for c in cards}
        if keep_covers:
            self._best = {p: f for p, f in self._best.items() if p in self._cards and old.get(p) == self._cards[p]}
            self._best.update(best or {})
        else:
            self._best = dict(best or {})
        if keys is None:
            self._rebuild()
        else:
            match = self._matches
            shown = [(k, c.id) for k, c in zip(keys, cards, strict=True) if match(c)]
            self._keys = [k for k, _p in shown]
            self._ids = [p for _k, p in shown]
            self._reindex(0)
        self.endResetModel()

    def set_filter(self, text: str, show_hidden: bool) -> None:
        text = text.strip().casefold()
        if (text, show_hidden) == (self._filter, self._show_hidden):
            return
        self.beginResetModel()
        self._filter, self._show_hidden = text, show_hidden
        self._rebuild()
        self.endResetModel()

    def set_best_faces(self, best: dict[int, int]) -> None:
        """Covers found for people without a chosen one; repaints the rows that show them."""
        self._best.update(best)
        rows = sorted(self._row[p] for p in best if p in self._row)
        for first, last in _ranges(rows):
            self.dataChanged.emit(self.index(first), self.index(last), [FACE_ROLE])

    def apply(self, updated: Iterable[PersonCard], removed: Iterable[int], best: dict[int, int] | None = None) -> None:
        """Apply a change record: drop removed people, insert or move or repaint updated ones."""
        for pid in removed:
            self._cards.pop(pid, None)
            self._best.pop(pid, None)
            self._remove_row(pid)
        if best:
            self._best.update(best)
        for card in updated:
            old = self._cards.get(card.id)
            self._cards[card.id] = card
            if old is not None and card.cover_face_id is None and old.face_count != card.face_count:
                self._best.pop(card.id, None)
            if best and card.id in best:
                self._best[card.id] = best[card.id]
            visible = self._matches(card)
            row = self._row.get(card.id)
            if row is not None and visible and self._keys[row] == card_sort_key(card):
                self.dataChanged.emit(self.index(row), self.index(row))
                continue
            if row is not None:
                self._remove_row(card.id)
            if visible:
                self._insert_row(card)

    def _matches(self, card: PersonCard) -> bool:
        if card.hidden and not self._show_hidden:
            return False
        return not self._filter or (card.name is not None and self._filter in card.name.casefold())

    def _rebuild(self) -> None:
        shown = sorted((c for c in self._cards.values() if self._matches(c)), key=card_sort_key)
        self._ids = [c.id for c in shown]
        self._keys = [card_sort_key(c) for c in shown]
        self._reindex(0)

    def _reindex(self, start: int) -> None:
        if start == 0:
            self._row = {}
        for r in range(start, len(self._ids)):
            self._row[self._ids[r]] = r

    def _remove_row(self, pid: int) -> None:
        row = self._row.pop(pid, None)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        del self._keys[row]
        self._reindex(row)
        self.endRemoveRows()

    def _insert_row(self, card: PersonCard) -> None:
        key = card_sort_key(card)
        row = bisect_left(self._keys, key)
        self.beginInsertRows(QModelIndex(), row, row)
        self._ids.insert(row, card.id)
        self._keys.insert(row, key)
        self._reindex(row)
        self.endInsertRows()


class FacesModel(QAbstractListModel):
    """Face chips in a given order (best first); each row is a :class:`FaceCard`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cards: list[FaceCard] = []
        self._row: dict[int, int] = {}
        self.person_names: dict[int, str | None] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cards)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        card = self._cards[index.row()]
        if role in (ID_ROLE, FACE_ROLE):
            return card.id
        if role == SOURCE_ROLE:
            return card.source
        if role == STATUS_ROLE:
            return card.status
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._describe(card)
        return None

    def _describe(self, card: FaceCard) -> str:
        if card.status == "ignored":
            return f"Face {card.id}: ignored"
        if card.status == "not_face":
            return f"Face {card.id}: not a face"
        if card.person_id is None:
            return f"Face {card.id}: unknown"
        who = display_name(self.person_names.get(card.person_id))
        how = {"user": "confirmed", "auto": "grouped automatically, not confirmed",
               "suggested": "suggested"}.get(card.source or "", "")
        if how and card.doubt is not None:
            how += f"; distance to this person {card.doubt:.2f}"
        return f"Face {card.id}: {who}" + (f" ({how})" if how else "")

    def card_at(self, row: int) -> FaceCard:
        return self._cards[row]

    def row_of(self, face_id: int) -> int | None:
        return self._row.get(face_id)

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self._cards]

    def cards(self) -> list[FaceCard]:
        return list(self._cards)

    def set_cards(self, cards: Iterable[FaceCard]) -> None:
        self.beginResetModel()
        self._cards = list(cards)
        self._reindex(0)
        self.endResetModel()

    def sync(self, cards: list[FaceCard]) -> None:
        """Make the rows equal ``cards`` with row removals and insertions (selection survives).

        Faces keep their relative order (quality does not change), so rows that stay stay in order.
        """
        new_ids = {c.id for c in cards}
        kept = [c.id for c in self._cards if c.id in new_ids]
        if kept != [c.id for c in cards if c.id in self._row]:  # reordered: start over
            self.set_cards(cards)
            return
        gone = sorted((self._row[c.id] for c in self._cards if c.id not in new_ids), reverse=True)
        for last, first in _ranges_desc(gone):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._cards[first:last + 1]
            self.endRemoveRows()
        self._reindex(0)
        for pos, card in enumerate(cards):
            if pos < len(self._cards) and self._cards[pos].id == card.id:
                if self._cards[pos] != card:
                    self._cards[pos] = card
                    self.dataChanged.emit(self.index(pos), self.index(pos))
                continue
            self.beginInsertRows(QModelIndex(), pos, pos)
            self._cards.insert(pos, card)
            self.endInsertRows()
        self._reindex(0)

    def remove_ids(self, face_ids: Iterable[int]) -> None:
        rows = sorted((self._row[f] for f in set(face_ids) if f in self._row), reverse=True)
        for last, first in _ranges_desc(rows):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._cards[first:last + 1]
            self.endRemoveRows()
        self._reindex(0)

    def update_cards(self, cards: Iterable[FaceCard]) -> None:
        for card in cards:
            row = self._row.get(card.id)
            if row is not None:
                self._cards[row] = card
                self.dataChanged.emit(self.index(row), self.index(row))

    def append(self, cards: Iterable[FaceCard]) -> None:
        fresh = [c for c in cards if c.id not in self._row]
        if not fresh:
            return
        start = len(self._cards)
        self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
        self._cards.extend(fresh)
        self._reindex(start)
        self.endInsertRows()

    def repaint_faces(self, face_ids: Iterable[int]) -> None:
        rows = sorted(self._row[f] for f in face_ids if f in self._row)
        for first, last in _ranges(rows):
            self.dataChanged.emit(self.index(first), self.index(last), [FACE_ROLE])

    def _reindex(self, start: int) -> None:
        if start == 0:
            self._row = {}
        for r in range(start, len(self._cards)):
            self._row[self._cards[r].id] = r


def _ranges(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted rows as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _ranges_desc(rows: list[int]) -> list[tuple[int, int]]:
    """Rows sorted high to low as (last, first) runs, for removal from the end backwards."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out

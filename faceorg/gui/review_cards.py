"""The Review view's cards: one large face, and one question with the faces that decided it."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceorg.gui.context import LARGE_CHIP
from faceorg.gui.delegates import paint_chip
from faceorg.gui.thumbnails import ThumbnailCache
from faceorg.gui.view_parts import enlarge_font
from faceorg.people.prompts import Question

QUESTION_FACES = 4  # faces shown per question (plus the group or person it is about)


class BigFace(QWidget):
    """One large face chip with a caption under it."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.face_id: int | None = None
        self.caption = ""
        self.setFixedSize(QSize(LARGE_CHIP + 20, LARGE_CHIP + 44))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        cache.ready.connect(lambda ids: self.update() if self.face_id in ids else None)

    def set_face(self, face_id: int | None, caption: str) -> None:
        self.face_id, self.caption = face_id, caption
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRect(10, 4, LARGE_CHIP, LARGE_CHIP)
        paint_chip(p, rect, self.cache, self.face_id, self.palette(), 14)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        p.setFont(font)
        p.setPen(self.palette().color(QPalette.ColorRole.Text))
        text = p.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight, self.width() - 8)
        p.drawText(QRect(0, LARGE_CHIP + 10, self.width(), 28), Qt.AlignmentFlag.AlignCenter, text)
        p.end()


def _group_of(n: int) -> str:
    return f"Group of {n} face{'s' if n != 1 else ''}"


def _likely(score: float) -> str:
    """A likelihood in words (a percentage would claim more precision than it has)."""
    return ("very likely" if score >= 0.95 else "likely" if score >= 0.7 else "perhaps" if score >= 0.3
            else "probably not")


class QuestionCard(QFrame):
    """One question: its text, the faces that decided it (the closest pair of faces for "same person?",
    the odd faces for a split or to take out, the waiting faces for a group suggestion) beside who it is about,
    and why."""

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("questionCard")
        self.title = QLabel()
        self.title.setObjectName("questionText")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        enlarge_font(self.title, 1.5, bold=True)
        self.left = [BigFace(cache) for _ in range(QUESTION_FACES)]
        self.right = [BigFace(cache) for _ in range(2)]
        for i, w in enumerate(self.left + self.right):
            w.setObjectName(f"questionFace{i}")
        self.link = QLabel()
        self.link.setObjectName("questionLink")
        self.link.setAlignment(Qt.AlignmentFlag.AlignCenter)
        enlarge_font(self.link, 2.2)
        self.detail = QLabel()
        self.detail.setObjectName("questionDetail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.more = QLabel()
        self.more.setObjectName("questionMore")
        self.more.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.setSpacing(0)
        row.addStretch(1)
        for w in self.left:
            row.addWidget(w)
        row.addSpacing(6)
        row.addWidget(self.link)
        row.addSpacing(6)
        for w in self.right:
            row.addWidget(w)
        row.addStretch(1)
        self._left_faces: list[tuple[int | None, str]] = []
        self._total = 0
        self._counts_more = False
        self.buttons = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addSpacing(10)
        layout.addLayout(row)
        layout.addWidget(self.more)
        layout.addWidget(self.detail)
        layout.addSpacing(8)
        layout.addLayout(self.buttons)
        layout.addStretch(1)

    def fit_width(self, width: int) -> None:
        """Show only as many of the question's faces as fit in ``width`` (a narrow window would otherwise
        cut off the person the faces are compared with); the caption counts the ones left out."""
        face_w = self.left[0].width()
        right = [w for w in self.right if w.face_id is not None]
        room = width - 40 - self.link.sizeHint().width() - 12
        shown_right = right[:1] if room < (len(right) + 1) * face_w else right  # too narrow: one face a side
        for w in right:
            w.setVisible(w in shown_right)
        room -= len(shown_right) * face_w
        fits = max(1, min(len(self._left_faces), room // max(1, face_w)))
        for i, w in enumerate(self.left):
            w.setVisible(i < min(fits, len(self._left_faces)))
        rest = self._total - min(fits, len(self._left_faces))
        self.more.setText(f"and {rest} more" if rest > 0 and self._counts_more else "")

    def shown_faces(self) -> list[int]:
        return [w.face_id for w in self.left + self.right if w.isVisible() and w.face_id is not None]

    def _faces_to_person(self, q: Question, covers: dict[int, int]
                         ) -> tuple[str, list[tuple[int | None, str]], list[tuple[int | None, str]]]:
        """A question that gives faces to a person: its name, the first faces left, the person's cover
        right, an arrow between and how many more faces it holds."""
        name = q.person_names[0] or "them"
        left: list[tuple[int | None, str]] = [(f, "") for f in q.face_ids[:QUESTION_FACES]]
        right: list[tuple[int | None, str]] = [(covers.get(q.person_ids[0]), name)]
        self.link.setText("→")
        rest = len(q.face_ids) - len(left)
        self.more.setText(f"and {rest} more" if rest > 0 else "")
        return name, left, right

    def show_question(self, q: Question, covers: dict[int, int]) -> None:
        self.title.setText(q.text)
        left: list[tuple[int | None, str]] = []
        right: list[tuple[int | None, str]] = []
        if q.kind == "same_person":
            a_faces = list(dict.fromkeys(a for a, _ in q.pairs))[:2]
            b_faces = list(dict.fromkeys(b for _, b in q.pairs))[:2]
            a_name = q.person_names[0] or _group_of(q.face_counts[0])
            b_name = q.person_names[1] or _group_of(q.face_counts[1])
            left = [(f, a_name if i == 0 else "") for i, f in enumerate(a_faces)]
            right = [(f, b_name if i == 0 else "") for i, f in enumerate(b_faces)]
            self.link.setText("=?")
            self.more.setText("")
            self.detail.setText(f"The closest faces of the two groups ({q.distance:.2f} apart): "
                                f"{_likely(q.score)} the same person.\nYes joins them; No keeps them apart for good.")
        elif q.kind == "unsorted_batch":
            name, left, right = self._faces_to_person(q, covers)
            n = len(q.face_ids)
            self.detail.setText(f"{'These faces are' if n != 1 else 'This face is'} in no group; {name} is the "
                                f"nearest person, clearly nearer than anyone else ({q.distance:.2f} at the closest).\n"
                                f"Yes gives {'all ' + str(n) + ' faces' if n != 1 else 'it'} to {name}; No says "
                                f"{'none of them is' if n != 1 else 'it is not'}; One by One decides them under Faces.")
        elif q.kind == "group_suggestion":
            name, left, right = self._faces_to_person(q, covers)
            self.detail.setText(f"Yes confirms all {len(q.face_ids)} faces as {name}; No says none of them is; "
                                "Skip to decide them one by one under Faces.")
        elif q.kind == "odd_faces":
            who = q.person_names[0]
            left = [(f, "Looks different" if i == 0 else "") for i, f in enumerate(q.face_ids[:QUESTION_FACES])]
            right = [(covers.get(q.person_ids[0]), f"Rest of {who}" if who else "Rest of the group")]
            self.link.setText("≠")
            rest = len(q.face_ids) - len(left)
            self.more.setText(f"and {rest} more" if rest > 0 else "")
            one = len(q.face_ids) == 1
            self.detail.setText(f"{'This face is' if one else 'These faces are'} {q.distance:.2f} from the group's "
                                f"other faces (the median): {_likely(q.score)} someone else.\nYes takes "
                                f"{'it' if one else 'them'} out (unsorted, never given to {who or 'this group'} "
                                "again); No keeps the group as it is.")
        else:
            who = q.person_names[0] or "this group"
            left = [(f, "Looks different" if i == 0 else "") for i, f in enumerate(q.face_ids[:QUESTION_FACES])]
            right = [(covers.get(q.person_ids[0]), f"Rest of {who}" if q.person_names[0] else "Rest of the group")]
            self.link.setText("≠")
            rest = len(q.face_ids) - len(left)
            self.more.setText(f"and {rest} more" if rest > 0 else "")
            them = "This face is" if len(q.face_ids) == 1 else "These faces are"
            self.detail.setText(f"{them} {q.distance:.2f} from the rest of the group at the closest: "
                                f"{_likely(q.score)} someone else.\nYes makes a group of their own; No keeps the "
                                "group as it is.")
        self._left_faces, self._total = left, len(q.face_ids)
        self._counts_more = q.kind != "same_person"
        for widgets, faces in ((self.left, left), (self.right, right)):
            for i, w in enumerate(widgets):
                if i < len(faces):
                    w.set_face(*faces[i])
                    w.show()
                else:
                    w.set_face(None, "")
                    w.hide()

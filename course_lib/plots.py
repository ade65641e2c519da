"""One picture of a training run: which variables moved and which stayed frozen."""

import io
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

FROZEN_COLOR = "#9aa5b1"  # grey: bit-identical to the start
MOVED_COLOR = "#e8833a"  # orange: differs from the start
SURPRISE_COLOR = "#c62828"  # red: the flag says one thing, training did another
# Lines for variables that moved: tab10 without its red, which is kept for surprises.
MOVED_LINES = ["C0", "C1", "C2", "C4", "C5", "C6", "C8", "C9"]


def _label(track):
    surprise = track.trainable == track.frozen
    flag = f"trainable={track.trainable}"
    return f"{'! ' if surprise else ''}{track.name} ({flag}): {track.verdict}", surprise


# The picture's layout, in inches, worked out from the number of variables and the
# length of their names instead of by matplotlib's constrained layout, which measures
# every label in an extra drawing pass: a lesson draws up to ten plots.
WIDTH = 9.0
CHAR = 0.07  # width of a character of the 8-point labels, in inches, generously
LEGEND_ROW = 0.17  # height of one 8-point line of the legend under the top axes
RIGHT = 2.2  # room for the strip's legend, right of the axes
TITLE_LINE, TITLE_CHARS = 0.22, 64  # a line of the title: its height, and at most this long


def _layout(tracks, title_lines):
    """The figure's height in inches; the top and strip axes' [left, bottom, width, height]
    and the top-left corner of the legend under the top axes, in figure fractions."""
    rows = len(tracks)
    left = max(1.0, 0.25 + CHAR * max(len(t.name) for t in tracks))
    strip = 0.3 + 0.2 * rows  # one row of the strip per variable
    top = 1.8 + 0.15 * rows
    below_strip, under_top, legend = 0.45, 0.45, 0.1 + LEGEND_ROW * rows
    above_top = 0.15 + TITLE_LINE * title_lines
    height = below_strip + strip + 0.2 + legend + under_top + top + above_top
    width = WIDTH - left - RIGHT
    top_bottom = height - above_top - top
    boxes = ([left, top_bottom, width, top], [left, below_strip, width, strip])
    return (
        height,
        [[x / WIDTH, y / height, w / WIDTH, h / height] for x, y, w, h in boxes],
        (left / WIDTH, (top_bottom - under_top) / height),
    )


class TrajectoryFigure(Figure):
    """The Figure `plot_trajectory` returns: in a notebook, `display(fig)` shows the PNG `show` makes.

    Its layout is worked out to fit (`_layout`), so the notebook's usual way of showing a
    figure, which draws it twice to crop it (`bbox_inches="tight"`), would only double
    the cost of the picture.
    """

    def png(self):
        """The picture as PNG bytes, 100 pixels per inch."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()

    def _ipython_display_(self):
        from IPython.display import Image, display

        display(Image(self.png(), format="png"))


def _distance_label(value, _position):
    """Tick labels as plain text (1e-4), not mathtext, which costs a parse per label."""
    return "0" if value == 0 else f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e+")


def plot_trajectory(trajectory, title="What training did to each variable"):
    """Distance from the initial value per step, and a frozen/moved strip per variable.

    Variables whose `trainable` flag disagrees with what happened are marked in red
    with a '!'. Returns the matplotlib Figure (a `TrajectoryFigure`), already closed
    in pyplot so that a notebook shows it once.

    Taught in lessons 00, 01 and 03.
    """
    tracks = trajectory.tracks
    steps = np.asarray(trajectory.steps)
    title = "\n".join(textwrap.wrap(title, TITLE_CHARS)) or title
    height, (top_box, strip_box), legend_corner = _layout(tracks, title.count("\n") + 1)
    fig = plt.figure(figsize=(WIDTH, height), FigureClass=TrajectoryFigure)
    top, strip = fig.add_axes(top_box), fig.add_axes(strip_box)
    for i, track in enumerate(tracks):
        label, surprise = _label(track)
        if track.frozen:
            color, style, width = FROZEN_COLOR, (0, (4, 3)), 2.5
        else:
            color, style, width = MOVED_LINES[i % len(MOVED_LINES)], "-", 1.8
        if surprise:
            color = SURPRISE_COLOR
        top.plot(steps, track.distance, linestyle=style, linewidth=width, color=color, label=label)
    top.set_yscale("symlog", linthresh=1e-6)
    top.yaxis.set_major_formatter(FuncFormatter(_distance_label))
    top.set_xlabel("step")
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylabel("distance from initial value")
    top.set_title(title)
    top.grid(alpha=0.3)
    # Below the axes, so the verdicts never cover a line.
    top.legend(
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=legend_corner,
        bbox_transform=fig.transFigure,
        frameon=False,
        borderaxespad=0,
    )

    changed = np.array([[not same for same in t.identical] for t in tracks], dtype=float)
    strip.imshow(
        changed,
        aspect="auto",
        interpolation="nearest",
        cmap=ListedColormap([FROZEN_COLOR, MOVED_COLOR]),
        vmin=0,
        vmax=1,
        extent=(steps[0] - 0.5, steps[-1] + 0.5, len(tracks) - 0.5, -0.5),
    )
    strip.set_yticks(range(len(tracks)))
    labels = strip.set_yticklabels([t.name for t in tracks], fontsize=8)
    for text, track in zip(labels, tracks, strict=True):
        if track.trainable == track.frozen:
            text.set_color(SURPRISE_COLOR)
    strip.set_xlabel("step")
    strip.xaxis.set_major_locator(MaxNLocator(integer=True))
    strip.legend(
        handles=[
            Patch(color=FROZEN_COLOR, label="bit-identical to the start"),
            Patch(color=MOVED_COLOR, label="changed"),
        ],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    plt.close(fig)
    return fig


def save_png(trajectory, path, title="What training did to each variable"):
    """Write the trajectory plot to a PNG file and close the figure (for use outside notebooks)."""
    Path(path).write_bytes(plot_trajectory(trajectory, title=title).png())
    return path


def show(trajectory, title=None):
    """Display the plot as a cell output in a notebook (and close it); do nothing elsewhere.

    Taught in lessons 02, 03 and 04.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: no notebook to show it in
        return
    if get_ipython() is None:
        return
    display(plot_trajectory(trajectory, title=title or "What training did to each variable"))

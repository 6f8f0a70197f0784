"""Plot helpers for the chapters. Each takes a matplotlib ``ax`` and draws on it; none calls ``plt.show``.

Figures are not compared by nbval (PNG output is skipped), so a chapter states every
conclusion a figure shows as a printed number as well.
"""

import numpy as np

"""What every suite shares: what a test needs from the machine (`requirements`), and
more as the suites' helpers move here."""

import { useEffect, useState } from "react";
import { applyTheme, storeChoice, storedChoice, watchSystemTheme, type ThemeChoice } from "./theme";

/** System / Light / Dark; the system's preference is followed live while chosen. */
export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(storedChoice);
  useEffect(() => {
    applyTheme(choice);
    if (choice !== "system") return undefined;
    return watchSystemTheme(() => applyTheme("system"));
  }, [choice]);
  return (
    <label className="theme-toggle">
      <span className="sr-only">Theme</span>
      <select
        data-testid="theme-toggle"
        value={choice}
        onChange={(e) => {
          const next = e.target.value as ThemeChoice;
          storeChoice(next);
          setChoice(next);
        }}
      >
        <option value="system">Auto theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

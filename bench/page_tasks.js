// What the browser scenarios (ui_flood, ui_conns) share: how many runs, their median, and the
// longest main-thread task a page has, as the Long Tasks API reports it (tasks over 50 ms; 0
// means none).

export const RUNS = Number(process.env.RUNS ?? 3);

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** Starts noting `page`'s longest main-thread task, from now on. */
export function watchLongTasks(page) {
  return page.evaluate(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: false });
  });
}

/** The longest task `page` had since `watchLongTasks`, in ms. */
export const longestTask = (page) => page.evaluate(() => window.__longest);

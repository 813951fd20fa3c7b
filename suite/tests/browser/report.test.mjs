// Loads each compatibility.html named in COGCHECK_REPORT_HTML (paths separated by the platform's
// path delimiter) in headless Debian Chromium and checks what a reader relies on: every
// operation has a row, filters hide rows, and a click on a failing cell opens its details.
// Run by suite/tests/report.rs (`browser_checks_the_html_report`), which builds the pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const pages = (process.env.COGCHECK_REPORT_HTML || '').split(delimiter).filter(Boolean);

test('chromium and report pages are there', () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  assert.ok(pages.length > 0, 'COGCHECK_REPORT_HTML names no page');
});

for (const html of pages) {
  test(`report ${html}`, async (t) => {
    // The JSON written beside the page is the reference for what the page must show.
    const report = JSON.parse(readFileSync(html.replace(/\.html$/, '.json'), 'utf8'));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run',
      ],
    });
    t.after(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(html).href);

    await t.test('is self-contained and runs its script without errors', () => {
      assert.deepEqual(requests, [], 'the page must not touch the network');
      assert.deepEqual(errors, []);
    });

    const visibleOps = () => page.$$eval('#matrix tbody tr[data-op]',
      (rows) => rows.filter((r) => !r.hidden).map((r) => r.dataset.op));

    await t.test('every operation has a row', async () => {
      const ops = await page.$$eval('#matrix tbody tr[data-op]', (rows) => rows.map((r) => r.dataset.op));
      assert.equal(ops.length, report.operations.length);
      assert.deepEqual([...ops].sort(), report.operations.map((o) => o.name).sort());
      assert.equal((await visibleOps()).length, ops.length, 'no filter is on at first');
      const count = await page.textContent('#count');
      assert.match(count, new RegExp(`Showing ${ops.length} of ${ops.length}`));
    });

    await t.test('filters hide rows', async () => {
      const seed = report.operations.filter((o) => o.seed).map((o) => o.name).sort();
      await page.selectOption('#f-seed', 'seed');
      assert.deepEqual((await visibleOps()).sort(), seed);
      await page.selectOption('#f-seed', 'non-seed');
      assert.equal((await visibleOps()).length, report.operations.length - seed.length);
      await page.selectOption('#f-seed', '');

      // Status on one target: exactly the operations whose cell has that status there.
      const target = report.targets.findIndex((tg) => tg.status === 'ran');
      if (target >= 0) {
        const name = report.targets[target].name;
        const passing = report.operations.filter((o) => o.cells[name].status === 'pass').map((o) => o.name).sort();
        await page.selectOption('#f-status', 'pass');
        await page.selectOption('#f-target', String(target));
        assert.deepEqual((await visibleOps()).sort(), passing);
        await page.selectOption('#f-status', '');
        await page.selectOption('#f-target', '');
      }

      await page.fill('#q', 'UserPool');
      const byName = await visibleOps();
      assert.ok(byName.length > 0 && byName.length < report.operations.length);
      assert.ok(byName.every((o) => o.toLowerCase().includes('userpool')));
      await page.fill('#q', '');

      const category = report.operations[0].category;
      await page.selectOption('#f-category', category);
      assert.deepEqual((await visibleOps()).sort(),
        report.operations.filter((o) => o.category === category).map((o) => o.name).sort());
      await page.selectOption('#f-category', '');
      assert.equal((await visibleOps()).length, report.operations.length);
    });

    await t.test('grouping by quota category keeps every row', async () => {
      await page.selectOption('#f-group', 'category');
      const groups = await page.$$eval('#matrix tr.group-row', (g) => g.length);
      assert.equal(groups, new Set(report.operations.map((o) => o.category)).size);
      assert.equal((await visibleOps()).length, report.operations.length);
      await page.selectOption('#f-group', '');
    });

    await t.test('sorting by a target column orders its cells', async () => {
      const th = page.locator('#matrix thead th[data-sort="t0"]');
      await th.click();
      const scores = await page.$$eval('#matrix tbody tr[data-op] td.cell[data-target="0"]',
        (cells) => cells.map((c) => parseFloat(c.dataset.score)));
      for (let i = 1; i < scores.length; i++) assert.ok(scores[i - 1] >= scores[i], 'descending scores');
      await page.locator('#matrix thead th[data-sort="name"]').click();
    });

    await t.test('a click on a failing cell opens its failures with the diff', async () => {
      // From the JSON: a failing cell, preferably one whose failure carries a diff.
      const scenarios = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
      let pick = null;
      for (const o of report.operations) {
        report.targets.forEach((tg, i) => {
          const c = o.cells[tg.name];
          if (!['fail', 'partial'].includes(c.status)) return;
          const withDiff = c.checks.some((k) => (scenarios[k.scenario]?.results[tg.name]?.findings || [])
            .some((f) => f.diff));
          if (!pick || (withDiff && !pick.withDiff)) pick = { op: o.name, target: i, withDiff };
        });
      }
      if (!pick) {
        t.skip('no failing cell in this report');
        return;
      }
      const cell = page.locator(`#matrix tr[data-op="${pick.op}"] td.cell[data-target="${pick.target}"]`);
      assert.equal(await page.isHidden('#detail'), true);
      await cell.scrollIntoViewIfNeeded();
      await cell.click();
      assert.equal(await page.isVisible('#detail'), true);
      assert.match(await page.textContent('#detail-title'), new RegExp(pick.op));
      assert.ok((await page.$$eval('#detail-body section.check', (s) => s.length)) > 0);
      assert.match(await page.textContent('#detail-body'), /Step \d+/, 'the failing step is named');
      if (pick.withDiff) {
        assert.ok(await page.isVisible('#detail-body pre.diff'), 'the diff is shown');
        assert.ok((await page.$$eval('#detail-body pre.diff span.add, #detail-body pre.diff span.del', (s) => s.length)) > 0);
      }
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#detail'), true);
    });

    // Reports of schema 2 and later: behaviour first, badges, security lists.
    const v2 = Number((report.schema.match(/^cogcheck-compatibility\/(\d+)$/) || [])[1]) >= 2;

    await t.test('a cell with a protocol badge shows it and its protocol findings', async () => {
      if (!v2) { t.skip(`schema ${report.schema}`); return; }
      let pick = null;
      for (const o of report.operations) {
        report.targets.forEach((tg, i) => {
          const c = o.cells[tg.name];
          if (c.protocol > 0 && (!pick || (c.status === 'pass' && pick.status !== 'pass'))) {
            pick = { op: o.name, target: i, status: c.status };
          }
        });
      }
      if (!pick) { t.skip('no cell with protocol findings in this report'); return; }
      const cell = page.locator(`#matrix tr[data-op="${pick.op}"] td.cell[data-target="${pick.target}"]`);
      await cell.scrollIntoViewIfNeeded();
      assert.ok(await cell.locator('sup.wire').isVisible(), 'the badge is visible');
      assert.match(await cell.locator('sup.wire').textContent(), new RegExp(report.badges.protocol));
      assert.equal(await cell.getAttribute('data-status'), pick.status, 'the badge keeps the behaviour status');
      await cell.click();
      assert.equal(await page.isVisible('#detail'), true);
      const protocol = page.locator('#detail-body .finding[data-axis="protocol"]');
      assert.ok((await protocol.count()) > 0, 'the protocol findings are listed');
      assert.ok(await protocol.first().isVisible());
      assert.match(await protocol.first().textContent(), /protocol\//);
      assert.match(await protocol.first().textContent(), /(known|new)/);
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#detail'), true);
    });

    await t.test('each target lists its security deviations before the others', async () => {
      if (!v2) { t.skip(`schema ${report.schema}`); return; }
      for (const tg of report.targets.filter((x) => x.status === 'ran')) {
        const list = page.locator(`#deviations article.devs[data-target="${tg.name}"] section.security`);
        assert.ok(await list.isVisible(), `${tg.name}: the security list is visible`);
        const items = await list.locator('li').allTextContents();
        assert.equal(items.length, tg.deviations.security.length, tg.name);
        tg.deviations.security.forEach((f, i) => {
          assert.ok(items[i].includes(f.summary), `${tg.name}: ${f.summary}`);
          assert.ok(items[i].includes(f.scenario));
        });
        const first = await page.$eval(`#deviations article.devs[data-target="${tg.name}"]`,
          (a) => a.querySelector('section, details').className);
        assert.equal(first, 'security', `${tg.name}: security comes first`);
      }
    });

    await t.test('each target with earlier versions shows its behaviour trend', async () => {
      const figures = await page.locator('figure.trend').count();
      assert.equal(figures, (report.trend || []).length, 'one chart per target with a trend');
      for (const tr of report.trend || []) {
        const fig = page.locator(`article.card[data-target="${tr.target}"] figure.trend`);
        assert.ok(await fig.isVisible(), `${tr.target}: the trend chart is visible`);
        const box = await fig.locator('svg').boundingBox();
        assert.ok(box && box.width > 100 && box.height > 40, `${tr.target}: the chart has a size`);
        const points = await fig.locator('g.point').evaluateAll((gs) => gs.map((g) => ({
          version: g.dataset.version,
          passed: Number(g.dataset.behaviourPassed),
          total: Number(g.dataset.behaviourTotal),
          rate: g.querySelector('text.rate').textContent,
          cy: Number(g.querySelector('circle').getAttribute('cy')),
          pinned: g.classList.contains('pinned'),
        })));
        assert.deepEqual(points.map((p) => p.version), tr.versions.map((v) => v.version),
          `${tr.target}: versions oldest first, as in the JSON`);
        tr.versions.forEach((v, i) => {
          const pct = v.behaviour_total ? (v.behaviour_passed * 100) / v.behaviour_total : 0;
          assert.equal(points[i].passed, v.behaviour_passed);
          assert.equal(points[i].total, v.behaviour_total);
          assert.equal(points[i].rate, `${Math.round(pct)}%`);
          assert.equal(points[i].pinned, v.pinned);
        });
        // A higher rate is drawn higher (SVG y grows downwards).
        for (let i = 0; i < points.length; i++) {
          for (let j = 0; j < points.length; j++) {
            const [a, b] = [tr.versions[i], tr.versions[j]];
            if (a.behaviour_passed / a.behaviour_total > b.behaviour_passed / b.behaviour_total + 0.005) {
              assert.ok(points[i].cy < points[j].cy, `${tr.target}: ${a.version} above ${b.version}`);
            }
          }
        }
      }
    });
  });
}

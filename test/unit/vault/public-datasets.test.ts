// Imports real files from a public dataset collection (the vega-datasets package) and checks that
// no row a person would call valid is lost, and that each value reads back as it was written.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CellValue } from '../../../common/dataset.js';
import type { Vault } from '../../../main/services/vault/index.js';
import { newVault, useTempDir } from '../../helpers/vault.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const DATA = join(ROOT, 'node_modules/vega-datasets/data');

/** Every record of a dataset, as objects keyed by column name. */
function allRecords(v: Vault, id: string): Record<string, CellValue>[] {
  const out: Record<string, CellValue>[] = [];
  for (let offset = 0; ; offset += 10_000) {
    const page = v.readRows(id, { offset, limit: 10_000 });
    for (const r of page.rows) out.push(Object.fromEntries(page.columns.map((c, i) => [c.name, r.values[i]!])));
    if (offset + 10_000 >= page.total) return out;
  }
}

function typesOf(v: Vault, id: string): Record<string, string> {
  return Object.fromEntries(v.dataset(id).columns.map((c) => [c.name, c.type]));
}

/** A CSV without quoted line breaks, split naively: the independent reading to compare with. */
function csvLines(file: string): string[] {
  return readFileSync(file, 'utf8').trimEnd().split(/\r?\n/).slice(1);
}

describe('imports of public datasets', () => {
  const t = useTempDir();

  it('cars: fractions after hundreds of whole numbers widen the column, and every car is kept', async () => {
    const v = await newVault(t);
    const file = join(DATA, 'cars.json');
    const source = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const report = await v.importFile(file); // the default policy refuses the whole file on any bad row
    expect(report).toMatchObject({ rowsImported: source.length, rowsRejected: 0 });
    const types = typesOf(v, report.datasetId!);
    expect(types).toMatchObject({ Acceleration: 'number', Miles_per_Gallon: 'number', Cylinders: 'integer', Year: 'date', Origin: 'category' });
    const rows = allRecords(v, report.datasetId!);
    // Miles per gallon holds whole numbers for 194 cars before its first fraction: a guess from the
    // first rows would refuse every later fraction.
    const firstFraction = source.findIndex((r) => typeof r.Miles_per_Gallon === 'number' && !Number.isInteger(r.Miles_per_Gallon));
    expect(firstFraction).toBeGreaterThan(100);
    for (const [i, r] of source.entries()) {
      expect(rows[i]!.Miles_per_Gallon).toBe(r.Miles_per_Gallon ?? null);
      expect(rows[i]!.Acceleration).toBe(r.Acceleration);
      expect(rows[i]!.Horsepower).toBe(r.Horsepower ?? null);
      expect(rows[i]!.Name).toBe(r.Name);
    }
  });

  it('zipcodes: codes with leading zeros stay text, 42,049 rows', async () => {
    const v = await newVault(t);
    const file = join(DATA, 'zipcodes.csv');
    const lines = csvLines(file);
    const report = await v.importFile(file);
    expect(report).toMatchObject({ rowsImported: lines.length, rowsRejected: 0 });
    expect(typesOf(v, report.datasetId!)).toMatchObject({ zip_code: 'string', latitude: 'number', longitude: 'number' });
    const rows = allRecords(v, report.datasetId!);
    expect(rows[0]!.zip_code).toBe('00501');
    for (const [i, line] of lines.entries()) expect(rows[i]!.zip_code).toBe(line.split(',')[0]);
  });

  it('stocks: dates written "Jan 1 2000" are dates', async () => {
    const v = await newVault(t);
    const file = join(DATA, 'stocks.csv');
    const lines = csvLines(file);
    const report = await v.importFile(file);
    expect(report).toMatchObject({ rowsImported: lines.length, rowsRejected: 0 });
    expect(typesOf(v, report.datasetId!)).toEqual({ symbol: 'category', date: 'date', price: 'number' });
    const rows = allRecords(v, report.datasetId!);
    expect(rows[0]).toEqual({ symbol: 'MSFT', date: '2000-01-01T00:00:00.000Z', price: 39.81 });
    for (const [i, line] of lines.entries()) expect(rows[i]!.price).toBe(Number(line.split(',')[2]));
  });

  it('movies: nulls, "Jun 12 1998" dates and titles that look like numbers are all kept', async () => {
    const v = await newVault(t);
    const file = join(DATA, 'movies.json');
    const source = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
    const report = await v.importFile(file);
    expect(report).toMatchObject({ rowsImported: source.length, rowsRejected: 0 });
    const types = typesOf(v, report.datasetId!);
    expect(types).toMatchObject({ 'Release Date': 'date', 'IMDB Rating': 'number', 'US DVD Sales': 'integer', Title: 'string' });
    const rows = allRecords(v, report.datasetId!);
    expect(rows[0]!['Release Date']).toBe('1998-06-12T00:00:00.000Z');
    for (const [i, r] of source.entries()) {
      expect(rows[i]!['IMDB Rating']).toBe(r['IMDB Rating'] ?? null);
      expect(rows[i]!['US DVD Sales']).toBe(r['US DVD Sales'] ?? null);
      expect(rows[i]!.Title).toBe(r.Title === null ? null : String(r.Title));
    }
  });

  it('airports: names with quoted commas are one field, and codes like "00M" are kept', async () => {
    const v = await newVault(t);
    const file = join(DATA, 'airports.csv');
    const report = await v.importFile(file);
    expect(report).toMatchObject({ rowsImported: csvLines(file).length, rowsRejected: 0 });
    const rows = allRecords(v, report.datasetId!);
    expect(rows[0]).toMatchObject({ iata: '00M', name: 'Thigpen', latitude: 31.95376472 });
    const quoted = rows.filter((r) => typeof r.name === 'string' && r.name.includes(','));
    expect(quoted.length).toBeGreaterThan(0);
  });

  it("the app's sample diary: a third answer in a yes/no column makes it a category, and that row is kept", async () => {
    const v = await newVault(t);
    const file = join(ROOT, 'assets/samples/sleep-diary.csv');
    // The diary holds two rows that are wrong on purpose, to show what skipping looks like.
    const report = await v.importFile(file, { policy: 'skip-rows' });
    expect(report).toMatchObject({ rowsImported: csvLines(file).length - 2, rowsRejected: 2 });
    expect(report.rejected.map((r) => r.reason)).toEqual(['"seven" is not a number.', 'Expected 9 fields, found 8.']);
    expect(typesOf(v, report.datasetId!).exercised).toBe('category');
    expect(allRecords(v, report.datasetId!).some((r) => r.exercised === 'sometimes')).toBe(true);
  });

  it('the preview proposes the same types the import uses, from the whole file', async () => {
    const v = await newVault(t);
    const preview = await v.previewImport(join(DATA, 'cars.json'));
    const acceleration = preview.columns.find((c) => c.name === 'Acceleration')!;
    expect(acceleration).toMatchObject({ type: 'number', invalidCount: 0 });
  });
});

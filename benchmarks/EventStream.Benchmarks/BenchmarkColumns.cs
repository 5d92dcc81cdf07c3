using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace EventStream.Benchmarks;

/// <summary>The per-event columns every benchmark class here adds to its BenchmarkDotNet summary.</summary>
public static class BenchmarkColumns
{
    /// <summary>Events per second, from the median time of one operation of <paramref name="eventsPerOperation"/> events.</summary>
    public static IColumn EventsPerSecond(long eventsPerOperation) => new Column(
        "EventsPerSecond", "Events/s (median)", 0,
        $"Events per second, from the median time of one {eventsPerOperation:N0}-event operation",
        (summary, benchmarkCase) => summary[benchmarkCase]?.ResultStatistics is { } stats
            ? (eventsPerOperation / (stats.Median / 1e9)).ToString("N0", CultureInfo.InvariantCulture)
            : "NA");

    /// <summary>Allocated bytes per event, from the MemoryDiagnoser's bytes per operation.</summary>
    public static IColumn BytesPerEvent(long eventsPerOperation, string format) => new Column(
        "BytesPerEvent", "Alloc/event", 1,
        $"Allocated bytes per event (allocated bytes per operation / {eventsPerOperation:N0})",
        (summary, benchmarkCase) => summary[benchmarkCase] is { } report && report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase) is { } bytes
            ? (bytes / (double)eventsPerOperation).ToString(format, CultureInfo.InvariantCulture)
            : "NA");

    /// <summary>A column computed per benchmark case.</summary>
    public static IColumn Custom(string id, string name, int priority, string legend, Func<Summary, BenchmarkCase, string> value) =>
        new Column(id, name, priority, legend, value);

    private sealed class Column(string id, string name, int priority, string legend, Func<Summary, BenchmarkCase, string> value) : IColumn
    {
        public string Id => id;

        public string ColumnName => name;

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => priority;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => legend;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value(summary, benchmarkCase);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => value(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}

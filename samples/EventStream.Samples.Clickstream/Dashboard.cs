using System.Text;

namespace EventStream.Samples.Clickstream;

/// <summary>
/// Shows the pipeline once a second. On a terminal it redraws one fixed-size frame in place; when the output is
/// redirected (CI, a pipe, a file) it prints one plain progress line per update instead.
/// </summary>
internal sealed class Dashboard(string title, TimeSpan duration)
{
    private const int TopCount = 10;
    private readonly bool _live = !Console.IsOutputRedirected;
    private int _drawn; // lines of the frame on screen

    public void Update(PipelineMetrics m, TimeSpan elapsed, UrlCounts counts)
    {
        if (_live)
        {
            Draw(Frame(m, elapsed, counts.Top(TopCount), "running · Ctrl+C stops early"));
        }
        else
        {
            Console.WriteLine(
                $"[{Clock(elapsed)}] {m.ThroughputPerSecond,8:N0} ev/s | accepted {m.Accepted:N0} delivered {m.Delivered:N0} " +
                $"filtered {m.Filtered:N0} dead-lettered {m.DeadLettered:N0} retries {m.Retries:N0} | in-flight {m.InFlight:N0} | " +
                $"queues {Queues(m, withCapacity: false)} | p50 {Ms(m.LatencyP50)} p99 {Ms(m.LatencyP99)}");
        }
    }

    /// <summary>The last frame, after the pipeline drained: redrawn in place on a terminal, printed in full otherwise.</summary>
    public void Final(PipelineMetrics m, TimeSpan elapsed, UrlCounts counts)
    {
        var frame = Frame(m, elapsed, counts.Top(TopCount), "drained");
        if (_live)
        {
            Draw(frame);
        }
        else
        {
            Console.WriteLine();
            frame.ForEach(Console.WriteLine);
        }
    }

    private List<string> Frame(PipelineMetrics m, TimeSpan elapsed, TopUrls top, string status) =>
        [
            $"{title} — {status}",
            "",
            $"  elapsed      {$"{Clock(elapsed)} / {Clock(duration)}",11}      events/s    {m.ThroughputPerSecond,11:N0}",
            $"  accepted     {m.Accepted,11:N0}        delivered   {m.Delivered,11:N0}        filtered  {m.Filtered,9:N0}",
            $"  dead-letter  {m.DeadLettered,11:N0}        retries     {m.Retries,11:N0}        in-flight {m.InFlight,9:N0}",
            $"  queues       {Queues(m, withCapacity: true)}",
            $"  latency      p50 {Ms(m.LatencyP50)}   p95 {Ms(m.LatencyP95)}   p99 {Ms(m.LatencyP99)}",
            "",
            .. UrlTable(top),
        ];

    /// <summary>The top URLs with their counts per minute bucket (event time, local clock) and in total.</summary>
    private static IEnumerable<string> UrlTable(TopUrls top)
    {
        const int UrlWidth = 40;
        yield return $"   #  {"top URLs (page views per minute)",-UrlWidth}{string.Concat(top.Minutes.Select(m => $"{DateTimeOffset.FromUnixTimeMilliseconds(m * 60_000).ToLocalTime(),9:HH:mm}"))}{"total",10}";
        for (var i = 0; i < TopCount; i++)
        {
            if (i >= top.Rows.Count)
            {
                yield return ""; // keep the frame's height fixed
                continue;
            }

            var row = top.Rows[i];
            var url = row.Url.Length > UrlWidth - 2 ? row.Url[..(UrlWidth - 3)] + "…" : row.Url;
            yield return $"  {i + 1,2}  {url,-UrlWidth}{string.Concat(row.PerMinute.Select(n => $"{n,9:N0}"))}{row.Total,10:N0}";
        }
    }

    private static string Queues(PipelineMetrics m, bool withCapacity) => string.Join(
        withCapacity ? "   " : ", ",
        m.Stages.Where(s => s.Capacity is not null)
            .Select(s => withCapacity ? $"{s.Name} {s.QueueDepth:N0}/{s.Capacity:N0}" : $"{s.Name} {s.QueueDepth:N0}"));

    private static string Clock(TimeSpan t) => $"{(int)t.TotalMinutes:00}:{t.Seconds:00}";

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:0.0} ms";

    /// <summary>
    /// Writes the frame over the previous one. Each line is cut or padded to the window width, so nothing wraps and
    /// nothing stale remains. The cursor moves relative to where the last frame ended, so the terminal is never asked
    /// for the cursor position (a query that not every pseudo-terminal answers).
    /// </summary>
    private void Draw(List<string> lines)
    {
        var width = Math.Max(40, Console.WindowWidth - 1);
        if (_drawn == 0)
        {
            Console.CursorVisible = false;
        }
        else if (OperatingSystem.IsWindows())
        {
            Console.SetCursorPosition(0, Math.Max(0, Console.CursorTop - _drawn));
        }
        else
        {
            Console.Write($"\e[{_drawn}A\r"); // ANSI: cursor up
        }

        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line.Length > width ? line[..width] : line.PadRight(width)).Append('\n');
        }

        Console.Write(text);
        _drawn = lines.Count;
    }

    /// <summary>Gives the cursor back after the last frame.</summary>
    public void Release()
    {
        if (_live && _drawn > 0)
        {
            Console.CursorVisible = true;
        }
    }
}

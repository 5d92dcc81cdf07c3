using System.Text;

namespace EventStream.Cli;

/// <summary>
/// Reads NDJSON lines: a line ends at LF (a CRLF's CR is dropped); a CR anywhere else is part of the line, as JSON
/// allows it for whitespace. (<see cref="TextReader.ReadLine"/> also ends a line at a bare CR, so one valid event with a
/// CR inside became two broken lines.)
/// </summary>
internal sealed class LineReader(TextReader inner)
{
    private readonly char[] _buffer = new char[64 * 1024];
    private readonly StringBuilder _line = new();
    private int _start;
    private int _end;

    /// <summary>The next line, or <see langword="null"/> at the end of the input.</summary>
    public string? ReadLine()
    {
        _line.Clear();
        while (true)
        {
            if (TakeLine() is { } line)
            {
                return line;
            }

            _start = 0;
            _end = inner.Read(_buffer, 0, _buffer.Length);
            if (_end == 0)
            {
                return Last();
            }
        }
    }

    /// <summary>The next line, or <see langword="null"/> at the end of the input.</summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        while (true)
        {
            if (TakeLine() is { } line)
            {
                return line;
            }

            _start = 0;
            _end = await inner.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (_end == 0)
            {
                return Last();
            }
        }
    }

    /// <summary>Takes the buffered text up to the next LF as the line, or keeps what is buffered and returns null.</summary>
    private string? TakeLine()
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        var lf = span.IndexOf('\n');
        if (lf < 0)
        {
            _line.Append(span);
            _start = _end;
            return null;
        }

        _line.Append(span[..lf]);
        _start += lf + 1;
        return Finish();
    }

    /// <summary>The input ended: a last line without an LF, or nothing.</summary>
    private string? Last() => _line.Length > 0 ? Finish() : null;

    private string Finish()
    {
        if (_line.Length > 0 && _line[^1] == '\r')
        {
            _line.Length--;
        }

        return _line.ToString();
    }
}

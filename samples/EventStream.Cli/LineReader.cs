using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace EventStream.Cli;

/// <summary>
/// One line of the input: its text, or, when its bytes are not valid UTF-8, those bytes as read and where the first
/// invalid one is. (A decoder that replaces invalid bytes with U+FFFD would merge keys such as <c>/a\xff</c> and
/// <c>/a\xfe</c>, and a dead letter or late line written from the text would not be the line as read.)
/// </summary>
internal readonly struct InputLine
{
    private InputLine(string? text, byte[]? bytes, int invalidAt)
    {
        Text = text;
        Bytes = bytes;
        InvalidAt = invalidAt;
    }

    /// <summary>Gets the line's text, or <see langword="null"/> when it is not valid UTF-8.</summary>
    public string? Text { get; }

    /// <summary>Gets the line's bytes as read, when it is not valid UTF-8.</summary>
    public byte[]? Bytes { get; }

    /// <summary>Gets the 0-based offset of the first byte that is not valid UTF-8 (-1 when the line is valid).</summary>
    public int InvalidAt { get; }

    /// <summary>Gets why the line cannot be read as text, naming the first invalid byte (1-based, as cmp counts).</summary>
    public string Problem => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"line is not valid UTF-8 at byte {InvalidAt + 1} (0x{Bytes![InvalidAt]:X2})");

    public static InputLine Decode(ReadOnlySpan<byte> bytes)
    {
        return Utf8.IsValid(bytes)
            ? new InputLine(Encoding.UTF8.GetString(bytes), null, -1)
            : new InputLine(null, bytes.ToArray(), FirstInvalid(bytes));
    }

    private static int FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        while (at < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out var length) != OperationStatus.Done)
            {
                return at;
            }

            at += length;
        }

        return bytes.Length;
    }
}

/// <summary>
/// Reads NDJSON lines as bytes and decodes each as UTF-8 on its own: a line ends at LF (a CRLF's CR is dropped); a CR
/// anywhere else is part of the line, as JSON allows it for whitespace (<see cref="TextReader.ReadLine"/> also ends a
/// line at a bare CR, so one valid event with a CR inside became two broken lines). A UTF-8 byte order mark at the
/// start is skipped. A line that is not valid UTF-8 is returned with its bytes, not altered.
/// </summary>
internal sealed class LineReader(Stream inner)
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly ArrayBufferWriter<byte> _line = new();
    private int _start;
    private int _end;
    private bool _first = true;

    /// <summary>The next line, or <see langword="null"/> at the end of the input.</summary>
    public InputLine? ReadLine()
    {
        _line.ResetWrittenCount();
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
    public async ValueTask<InputLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.ResetWrittenCount();
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

    /// <summary>Takes the buffered bytes up to the next LF as the line, or keeps what is buffered and returns null.</summary>
    private InputLine? TakeLine()
    {
        var span = _buffer.AsSpan(_start, _end - _start);
        var lf = span.IndexOf((byte)'\n');
        if (lf < 0)
        {
            _line.Write(span);
            _start = _end;
            return null;
        }

        _line.Write(span[..lf]);
        _start += lf + 1;
        return Finish();
    }

    /// <summary>The input ended: a last line without an LF, or nothing.</summary>
    private InputLine? Last() => _line.WrittenCount > 0 ? Finish() : null;

    private InputLine Finish()
    {
        var line = _line.WrittenSpan;
        if (_first)
        {
            _first = false;
            if (line.StartsWith(Bom))
            {
                line = line[Bom.Length..];
            }
        }

        if (line.Length > 0 && line[^1] == '\r')
        {
            line = line[..^1];
        }

        return InputLine.Decode(line);
    }
}

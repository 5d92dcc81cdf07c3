using System.Globalization;

namespace EventStream.DeadLetters;

/// <summary>Cursors of <see cref="IDeadLetterStore.ListPageAsync"/>: a number, the position after which the next page starts.</summary>
internal static class DeadLetterPaging
{
    /// <summary>The position a cursor names: 0 for the first page.</summary>
    /// <exception cref="ArgumentException">The cursor is not a whole number from 0.</exception>
    public static long Position(string? after) =>
        after is null ? 0
        : long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var position) ? position
        : throw new ArgumentException($"'{after}' is not a dead-letter cursor: pass the Next of the page before, or nothing for the first page.", nameof(after));

    public static string Cursor(long position) => position.ToString(CultureInfo.InvariantCulture);

    /// <summary>The default: pages by position in the store's listing order.</summary>
    public static async ValueTask<DeadLetterListPage> ByOffsetAsync(IDeadLetterStore store, string? pipeline, int limit, string? after, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var skip = Position(after);
        var take = (int)Math.Min(int.MaxValue, skip + limit + 1);
        var listed = await store.ListAsync(pipeline, take, cancellationToken).ConfigureAwait(false);
        var page = listed.Skip((int)Math.Min(skip, int.MaxValue)).Take(limit).ToList();
        return new DeadLetterListPage(page, listed.Count > skip + limit ? Cursor(skip + limit) : null);
    }
}

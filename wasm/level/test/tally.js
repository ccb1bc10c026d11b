'use strict'

// Counts a TAP stream (tape's output): passed, failed, skipped (and todo).
// A run is good only if it declared a plan, ran every assertion it planned,
// and none failed.
//
// As a command: node test/tally.js LABEL < tap   (echoes the TAP, then the
// summary; exits 1 unless the run is good).

class Tally {
  constructor () {
    this.passed = 0
    this.failed = 0
    this.skipped = 0
    this.todo = 0
    this.planned = null
    this.failures = []
  }

  line (text) {
    const directive = /#\s*(SKIP|TODO)\b/i.exec(text)
    if (/^ok \d+/.test(text)) {
      if (directive && directive[1].toUpperCase() === 'SKIP') this.skipped++
      else if (directive) this.todo++
      else this.passed++
    } else if (/^not ok \d+/.test(text)) {
      if (directive && directive[1].toUpperCase() === 'TODO') this.todo++
      else if (directive) this.skipped++
      else {
        this.failed++
        this.failures.push(text)
      }
    } else {
      const plan = /^1\.\.(\d+)/.exec(text)
      if (plan) this.planned = Number(plan[1])
    }
  }

  get total () {
    return this.passed + this.failed + this.skipped + this.todo
  }

  get good () {
    return this.failed === 0 && this.planned !== null && this.planned > 0 && this.total === this.planned
  }

  summary (label) {
    const lines = []
    if (this.planned === null) lines.push(`${label}: the TAP stream has no plan (the suite did not finish)`)
    else if (this.total !== this.planned) lines.push(`${label}: planned ${this.planned} assertions, saw ${this.total}`)
    for (const failure of this.failures.slice(0, 20)) lines.push(`${label}: ${failure}`)
    const todo = this.todo > 0 ? `, ${this.todo} todo` : ''
    lines.push(`${label}: ${this.passed} passed, ${this.failed} failed, ${this.skipped} skipped${todo}`)
    return lines.join('\n')
  }
}

module.exports = { Tally }

if (require.main === module) {
  const label = process.argv[2] || 'tap'
  const tally = new Tally()
  let rest = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()
    for (const line of lines) {
      tally.line(line)
      process.stdout.write(line + '\n')
    }
  })
  process.stdin.on('end', () => {
    if (rest) {
      tally.line(rest)
      process.stdout.write(rest + '\n')
    }
    process.stdout.write(tally.summary(label) + '\n')
    process.exitCode = tally.good ? 0 : 1
  })
}

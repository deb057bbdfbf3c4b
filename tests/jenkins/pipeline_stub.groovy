// A stub of Jenkins' declarative pipeline DSL: evaluates a Jenkinsfile with the real
// Groovy parser and records what a build would do, as JSON on stdout.
//
//   groovy pipeline_stub.groovy JENKINSFILE SCENARIOS_JSON
//
// SCENARIOS_JSON: {"name": {"params": {...}, "env": {...}, "changed": ["path", ...],
//                            "commits": [{"message": "...", "files": ["path", ...]}]}, ...};
// `changed` alone stands for one commit by a person touching those files; `commits` are
// the build's change log (currentBuild.changeSets), their files count as changed too.
// one JVM start serves every scenario (the output maps each name to its record).
// Build parameters left out take the Jenkinsfile's defaults, as in Jenkins. `when` conditions are evaluated (expression,
// anyOf, allOf, not, changeset, branch, environment), so a stage that would be
// skipped is recorded with "runs": false. Steps are recorded in order; block
// steps (lock, timeout, dir, withEnv ...) keep their nested steps under "body".
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

import java.nio.file.FileSystems
import java.nio.file.Paths

def argv = this.args
def jenkinsfile = new File(argv[0])
def scenarios = new JsonSlurper().parseText(argv.length > 1 ? argv[1] : '{"default": {}}')

// Conditions of a `when` block: every condition listed must hold (Jenkins' semantics).
class Conditions {
    List results = []
    List changedFiles
    Map env

    def expression(Closure c) { results << (c.call() as boolean) }
    def changeset(String pattern) {
        def matcher = FileSystems.getDefault().getPathMatcher('glob:' + pattern)
        results << changedFiles.any { matcher.matches(Paths.get(it)) }
    }
    def changeset(Map args) { changeset(args.pattern as String) }
    def branch(String pattern) {
        def matcher = FileSystems.getDefault().getPathMatcher('glob:' + pattern)
        results << (env.BRANCH_NAME != null && matcher.matches(Paths.get(env.BRANCH_NAME as String)))
    }
    def environment(Map args) { results << (env[args.name] == args.value) }
    def beforeInput(boolean ignored) {}
    def beforeAgent(boolean ignored) {}
    def beforeOptions(boolean ignored) {}
    private boolean nested(Closure c, Closure combine) {
        def inner = new Conditions(changedFiles: changedFiles, env: env)
        c.delegate = inner
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c.call()
        return combine(inner.results)
    }
    def anyOf(Closure c) { results << nested(c) { r -> r.any { it } } }
    def allOf(Closure c) { results << nested(c) { r -> r.every { it } } }
    def not(Closure c) { results << nested(c) { r -> !r.every { it } } }
}

// `environment { NAME = value }`: assignments are caught, reads fall through to the script.
class Assignments {
    Map assigned = [:]
    def propertyMissing(String name, value) { assigned[name] = value }
    def propertyMissing(String name) { throw new MissingPropertyException(name, Assignments) }
}

// Jenkins compiles a Jenkinsfile with com.cloudbees.groovy.cps.NonCPS imported (methods that
// run outside the CPS transform); the stub defines that annotation the same way.
def loader = new GroovyClassLoader(this.class.classLoader)
loader.parseClass('package com.cloudbees.groovy.cps\n' +
                  'import java.lang.annotation.*\n' +
                  '@Retention(RetentionPolicy.RUNTIME) @Target(ElementType.METHOD) @interface NonCPS {}')
def compiler = new CompilerConfiguration()
compiler.addCompilationCustomizers(new ImportCustomizer().addImports('com.cloudbees.groovy.cps.NonCPS'))

def simulate = { Map givenParams, Map envVars, List changedFiles, List commits ->
def record = [agent: null, options: [], parameters: [], environment: [:], stages: [], post: [:]]
def params = [:]
def env = [:] + envVars
def sinks = []                 // stack of lists that recorded steps go to
def currentStage = null

def plain = { value ->
    if (value instanceof GString) return value.toString()
    if (value instanceof Map) return value.collectEntries { k, v -> [(k.toString()): (v instanceof GString ? v.toString() : v)] }
    return value
}
def emit = { Map step -> sinks[-1] << step }
def inSink = { List sink, Closure body ->
    sinks << sink
    try { body.call() } finally { sinks.remove(sinks.size() - 1) }
}

// Steps and directives that only get recorded.
def recorded = { String name ->
    return { Object... a ->
        def body = a.find { it instanceof Closure }
        def args = a.findAll { !(it instanceof Closure) }.collect { plain(it) }
        def step = [step: name, args: args]
        if (body != null) {
            step.body = []
            emit(step)
            inSink(step.body, body)
        } else {
            emit(step)
        }
        return null
    }
}

def binding = new Binding()
binding.setVariable('params', params)
// currentBuild.changeSets: one change-log set of git commits (msg: the title, comment: the
// whole message, affectedPaths), the way the git plugin's GitChangeSet reads them.
binding.setVariable('currentBuild', [changeSets: [[items: commits.collect { c ->
    [msg: (c.message as String).readLines()[0], comment: c.message as String,
     affectedPaths: c.files ?: []]
}]]])
// Credentials bindings are arguments of withCredentials: recorded as what they name.
['gitUsernamePassword', 'usernamePassword', 'sshUserPrivateKey'].each { kind ->
    binding.setVariable(kind, { Map a -> [binding: kind] + plain(a) })
}
binding.setVariable('env', env)
binding.setVariable('any', 'any')
binding.setVariable('none', 'none')
binding.setVariable('pipeline', { Closure body -> body.call() })
binding.setVariable('agent', { Object a -> record.agent = plain(a) instanceof Closure ? 'custom' : plain(a) })
binding.setVariable('options', { Closure body ->
    inSink(currentStage == null ? record.options : (currentStage.options = []), body)
})
binding.setVariable('parameters', { Closure body -> inSink(record.parameters, body) })
['choice', 'string', 'booleanParam', 'text', 'password'].each { kind ->
    binding.setVariable(kind, { Map p ->
        def entry = [kind: kind] + plain(p)
        emit(entry)
        def value = p.containsKey('defaultValue') ? p.defaultValue : (kind == 'choice' ? p.choices[0] : null)
        params[p.name] = givenParams.containsKey(p.name) ? givenParams[p.name] : value
        env[p.name] = params[p.name] == null ? '' : params[p.name].toString()
    })
}
binding.setVariable('environment', { Closure body ->
    def collector = new Assignments()
    body.delegate = collector
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    def values = collector.assigned.collectEntries { k, v -> [(k): plain(v)] }
    values.each { k, v -> env[k] = v }
    if (currentStage == null) record.environment.putAll(values) else currentStage.environment = values
})
binding.setVariable('stages', { Closure body -> body.call() })
binding.setVariable('stage', { String name, Closure body ->
    currentStage = [name: name, runs: true, steps: [], post: [:]]
    record.stages << currentStage
    body.call()
    currentStage = null
})
binding.setVariable('when', { Closure body ->
    def conditions = new Conditions(changedFiles: changedFiles, env: env)
    body.delegate = conditions
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    currentStage.runs = conditions.results.every { it }
})
binding.setVariable('steps', { Closure body -> inSink(currentStage.steps, body) })
binding.setVariable('post', { Closure body ->
    def target = currentStage == null ? record.post : currentStage.post
    ['always', 'success', 'failure', 'unstable', 'changed', 'fixed', 'regression', 'aborted',
     'cleanup', 'unsuccessful'].each { condition ->
        binding.setVariable(condition, { Closure inner -> inSink(target[condition] = [], inner) })
    }
    body.call()
})
binding.setVariable('sh', { Object a ->
    def script = a instanceof Map ? a.script : a
    emit([step: 'sh', script: plain(script)])
    return ''
})
['echo', 'junit', 'archiveArtifacts', 'input', 'lock', 'timeout', 'timestamps',
 'disableConcurrentBuilds', 'buildDiscarder', 'logRotator', 'retry', 'dir', 'withEnv',
 'withCredentials', 'sshagent', 'ansiColor', 'skipDefaultCheckout', 'checkout', 'milestone',
 'stash', 'unstash', 'cleanWs', 'error'].each { name ->
    binding.setVariable(name, recorded(name))
}
binding.setVariable('logRotator', { Map a -> [logRotator: plain(a)] })  // an argument, not a step

new GroovyShell(loader, binding, compiler).evaluate(jenkinsfile)
return [agent: record.agent, options: record.options, parameters: record.parameters,
        params: params, environment: record.environment, stages: record.stages, post: record.post]
}

def results = scenarios.collectEntries { name, scenario ->
    def commits = scenario.commits ?: (scenario.changed ? [[message: 'a change', files: scenario.changed]] : [])
    def changed = ((scenario.changed ?: []) + commits.collectMany { it.files ?: [] }).unique()
    [(name): simulate(scenario.params ?: [:], scenario.env ?: [:], changed, commits)]
}
println JsonOutput.toJson(results)
